package fdrestore.plugin.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The netlink plugin on the testkit's fake kernel: the calls of each state (unbound, bound, bound with
 * groups in and above the first word, connected), the contract's rollback of a fault in each call, and the
 * plan-time refusal of every field a hostile image can set.
 */
class NetlinkContractTest extends FileKindContractTest {
    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new NetlinkKind();
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long bound = v.file(Nl.file(7, 14978, b -> { }));
        long groups = v.file(Nl.file(7, -229221700, b -> b.addGroups(0x80000000).addGroups(0).addGroups(0x5)));
        long connected = v.file(Nl.file(1, -1274779922, b -> b.setDstPortid(14978).setDstGroup(32).setFlags(04002)));
        long unbound = v.file(Nl.file(0, 0, b -> { }));
        v.fd(1, 4, bound).fd(1, 5, groups).fd(1, 6, connected).fd(1, 7, unbound).fd(2, 7, unbound);
        return List.of(Scenario.of("the sockets of zdtm sk-netlink, with groups above 32", v).expect(x -> {
            assertEquals(List.of("socket(16, 3, 15)", "bind(fd, 12 bytes)", "getsockopt(fd, 1, 7)",
                    "setsockopt(fd, 1, 32)", "getsockopt(fd, 1, 8)", "setsockopt(fd, 1, 33)"), calls(x, bound));
            List<String> g = calls(x, groups);
            assertEquals(List.of("socket(16, 3, 15)", "bind(fd, 12 bytes)", "setsockopt(fd, 270, 1)",
                    "setsockopt(fd, 270, 1)"), g.subList(0, 4), "groups 65 and 67 by NETLINK_ADD_MEMBERSHIP");
            List<String> c = calls(x, connected);
            assertEquals(List.of("socket(16, 3, 15)", "bind(fd, 12 bytes)", "connect(fd, 12 bytes)",
                    "fcntl(fd, 4, 2048)"), c.subList(0, 4));
            assertEquals("socket(16, 3, 15)", calls(x, unbound).get(0));
            assertTrue(calls(x, unbound).stream().noneMatch(s -> s.startsWith("bind")), calls(x, unbound).toString());
        }));
    }

    /** The calls of one file, with the temporary fd number written "fd". */
    private static List<String> calls(Restore x, long id) {
        return x.callsOf(id).stream().map(c -> c.replaceFirst("^(?!socket)(\\w+)\\(\\d+", "$1(fd")).toList();
    }

    private static PlanContext ctx(ImageSet images, String port) {
        return TestPlanContext.of(images).option(NetlinkKind.PORT_OPTION, port);
    }

    private String refusal(Nl.Edit edit) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.file(Nl.file(7, 42, edit));
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.NETLINKSK, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        return assertThrows(PlanException.class, () -> new NetlinkKind().plan(info, ctx(images, null))).getMessage();
    }

    @Test
    void everyFieldAHostileImageCanSetIsRefusedBeforeAnySyscall() throws Exception {
        assertTrue(refusal(b -> b.setProtocol(32)).contains("protocol 32 is no netlink protocol"));
        assertTrue(refusal(b -> b.setProtocol(-1)).contains("protocol 4294967295"));
        assertTrue(refusal(b -> b.setState(10)).contains("state 10"));
        assertTrue(refusal(b -> {
            for (int i = 0; i < 33; i++) {
                b.addGroups(1);
            }
        }).contains("groups has 33 words"));
        assertTrue(refusal(b -> b.setDstGroup(33)).contains("dst_group 33"));
        assertTrue(refusal(b -> b.setFlags(0101)).contains("flags 0101"));
        assertTrue(refusal(b -> b.setOpts(Nl.opts().toBuilder().setSoBoundDev("a-name-far-too-long"))).contains(
                "opts.so_bound_dev"));
        assertTrue(refusal(b -> b.setFown(FownEntry.newBuilder(Nl.fown()).setPid(77))).contains("F_SETOWN"));
        String msg = refusal(b -> b.setProtocol(99));
        assertTrue(msg.startsWith("netlink file 1: "), msg);
    }

    @Test
    void anUnknownPortOptionIsRefused() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.file(Nl.file(7, 42, e -> { }));
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        FileInfo info = new FileInfo(id, FdType.NETLINKSK, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        assertTrue(assertThrows(PlanException.class, () -> new NetlinkKind().plan(info, ctx(images, "maybe")))
                .getMessage().contains("netlink.port=maybe"));
    }
}
