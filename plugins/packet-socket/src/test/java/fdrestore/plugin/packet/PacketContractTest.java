package fdrestore.plugin.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.PacketMclist;
import fdrestore.api.image.proto.PacketRing;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.image.proto.SkOptsEntry;
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
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packet plugin on the testkit's fake kernel: criu's order of calls for the two sockets of zdtm
 * packet_sock, the contract's rollback of a fault in each call, and the plan-time refusal of every field a
 * hostile image can set (interface 1, lo, exists in every network namespace).
 */
class PacketContractTest extends FileKindContractTest {
    @TempDir
    Path tmp;

    interface Edit {
        void apply(PacketSockEntry.Builder b);
    }

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    static PacketRing ring() {
        return PacketRing.newBuilder().setBlockSize(4096).setBlockNr(1).setFrameSize(1024).setFrameNr(4)
                .setRetireTmo(0).setSizeofPriv(0).setFeatures(0).build();
    }

    /** Shaped like zdtm packet_sock's first socket: SOCK_RAW, TPACKET_V2, auxdata, an RX ring, PROMISC on lo. */
    static IntFunction<FileEntry> file(Edit more) {
        return id -> {
            PacketSockEntry.Builder b = PacketSockEntry.newBuilder().setId(id).setType(3).setProtocol(0).setFlags(2)
                    .setIfindex(0).setFown(fown())
                    .setOpts(SkOptsEntry.newBuilder().setSoSndbuf(212992).setSoRcvbuf(212992).setSoSndTmoSec(0)
                            .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0))
                    .setVersion(1).setReserve(0).setAuxData(true).setOrigDev(false).setVnetHdr(false).setLoss(false)
                    .setTimestamp(0).setCopyThresh(0)
                    .addMclist(PacketMclist.newBuilder().setIndex(1).setType(1).setAddr(ByteString.EMPTY))
                    .setRxRing(ring());
            more.apply(b);
            return FileEntry.newBuilder().setType(FdType.PACKETSK.code()).setId(id).setPsk(b).build();
        };
    }

    @Override
    protected FileKind kind() {
        return new PacketKind();
    }

    /** The calls of one file, with the temporary fd number written "fd". */
    private static List<String> calls(Restore x, long id) {
        return x.callsOf(id).stream().map(c -> c.replaceFirst("^(?!socket)(\\w+)\\(\\d+", "$1(fd")).toList();
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long raw = v.file(file(b -> { }));
        long dgram = v.file(file(b -> b.setType(2).setProtocol(8).setIfindex(1).setVersion(0).setReserve(8)
                .setAuxData(false).setOrigDev(true).clearMclist()
                .addMclist(PacketMclist.newBuilder().setIndex(1).setType(3).setAddr(ByteString.copyFrom(new byte[6])))
                .clearRxRing().setTxRing(ring()).setFanout(13).setFlags(04002)));
        v.fd(1, 4, raw).fd(1, 5, dgram).fd(2, 5, dgram);
        return List.of(Scenario.of("the sockets of zdtm packet_sock", v).expect(x -> {
            assertEquals(List.of("socket(17, 3, 0)", "bind(fd, 20 bytes)", "setsockopt(fd, 263, 10)",
                    "setsockopt(fd, 263, 12)", "setsockopt(fd, 263, 17)", "setsockopt(fd, 263, 7)",
                    "setsockopt(fd, 263, 8)", "setsockopt(fd, 263, 1)", "setsockopt(fd, 263, 5)"),
                    calls(x, raw).subList(0, 9), "criu's order: version, reserve, timestamp, copy_thresh, auxdata, membership, ring");
            assertEquals(List.of("socket(17, 2, 8)", "bind(fd, 20 bytes)", "setsockopt(fd, 263, 10)",
                    "setsockopt(fd, 263, 12)", "setsockopt(fd, 263, 17)", "setsockopt(fd, 263, 7)",
                    "setsockopt(fd, 263, 9)", "setsockopt(fd, 263, 1)", "setsockopt(fd, 263, 13)",
                    "setsockopt(fd, 263, 18)", "fcntl(fd, 4, 2048)"), calls(x, dgram).subList(0, 11));
        }));
    }

    private String refusal(Edit edit) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.file(file(edit));
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.PACKETSK, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        PlanContext ctx = TestPlanContext.of(images);
        return assertThrows(PlanException.class, () -> new PacketKind().plan(info, ctx)).getMessage();
    }

    @Test
    void everyFieldAHostileImageCanSetIsRefusedBeforeAnySyscall() throws Exception {
        assertTrue(refusal(b -> b.setType(5)).contains("type 5"));
        assertTrue(refusal(b -> b.setProtocol(0x10000)).contains("protocol 0x10000"));
        assertTrue(refusal(b -> b.setIfindex(999999)).contains("ifindex 999999 names no network interface"));
        assertTrue(refusal(b -> b.setMclist(0, b.getMclist(0).toBuilder().setIndex(888888))).contains(
                "mclist[0].index 888888 names no network interface"));
        assertTrue(refusal(b -> b.setMclist(0, b.getMclist(0).toBuilder().setAddr(ByteString.copyFrom(new byte[33]))))
                .contains("mclist[0].addr has 33 bytes"));
        assertTrue(refusal(b -> b.setVersion(3)).contains("version 3"));
        assertTrue(refusal(b -> b.setReserve(-1)).contains("reserve 4294967295"));
        assertTrue(refusal(b -> b.setRxRing(ring().toBuilder().setBlockSize(1 << 20).setBlockNr(2048))).contains(
                "rx_ring of 2048 blocks of 1048576 bytes"));
        assertTrue(refusal(b -> b.setTxRing(ring().toBuilder().setBlockSize(-1).setBlockNr(-1))).contains("tx_ring"));
        assertTrue(refusal(b -> b.setType(10)).contains("SOCK_PACKET socket with memberships"));
        assertTrue(refusal(b -> b.setFlags(0101)).contains("flags 0101"));
        assertTrue(refusal(b -> b.setFown(fown().toBuilder().setPid(5))).contains("F_SETOWN"));
        String m = refusal(b -> b.setIfindex(999999));
        assertTrue(m.startsWith("packet file 1: "), m);
    }
}
