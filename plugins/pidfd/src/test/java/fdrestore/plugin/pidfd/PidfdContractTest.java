package fdrestore.plugin.pidfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.pidfd.proto.PidfdEntry;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pidfd plugin through the testkit: pidfds of gone processes, and the plan's refusals. */
class PidfdContractTest extends FileKindContractTest {
    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new PidfdKind();
    }

    static long pidfd(ImageSetBuilder b, long ino, int flags, int nspid) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.PIDFD.code()).setId(id)
                .setPidfd(ByteString.copyFrom(PidfdEntry.newBuilder().setId(id).setIno(ino).setFlags(flags)
                        .setNspid(nspid).setFown(ImageSetBuilder.noOwner().toByteString()).build().toByteArray()))
                .build());
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long a = pidfd(v, 315572, 0, -1);
        long b = pidfd(v, 315572, 0, -1);
        long c = pidfd(v, 315571, 04000, -1);
        long live = pidfd(v, 315573, 0, 2);
        v.fd(1, 4, a, true).fd(1, 5, b, true).fd(1, 6, c).fd(2, 4, c).fd(1, 7, live);
        return List.of(Scenario.of("pidfds of gone processes, two of one process, one shared by two tasks", v)
                .expect(x -> {
                    assertEquals("anon_inode:[pidfd]", x.file(1, 4).what());
                    assertEquals(3, x.table(1).adopted().size(), x.table(1).adopted().toString());
                    assertEquals(04000, x.file(1, 6).flags() & 04000, "PIDFD_NONBLOCK reaches the task");
                    assertEquals(0, x.file(1, 4).flags() & 04000);
                    assertEquals("/dev/null", x.file(1, 7).what(), "a live task's pidfd: a placeholder its process replaces");
                }));
    }

    private PlanException refused(java.util.function.ToLongFunction<ImageSetBuilder> make) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0).task(2, 1);
        long id = make.applyAsLong(b);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.PIDFD, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        PlanContext ctx = TestPlanContext.of(images);
        return assertThrows(PlanException.class, () -> new PidfdKind().plan(info, ctx));
    }

    @Test
    void livePidfdsAndHostileFieldsAreRefusedBeforeAnySyscall() throws Exception {
        PlanException outside = refused(b -> pidfd(b, 1, 0, 4242));
        assertTrue(outside.getMessage().contains("field nspid 4242 is a process outside the tree"), outside.getMessage());
        PlanException neg = refused(b -> pidfd(b, 1, 0, -7));
        assertTrue(neg.getMessage().contains("field nspid -7 is neither"), neg.getMessage());
        PlanException flags = refused(b -> pidfd(b, 1, 0200, -1));
        assertTrue(flags.getMessage().contains("field flags 0200"), flags.getMessage());
    }

    @Test
    void aLivePidfdIsAPlaceholderThatItsTasksProcessReplaces() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0).task(2, 1);
        long self = pidfd(b, 7, 0, 1);
        long child = pidfd(b, 8, 04000, 2);
        b.fd(1, 4, self, true).fd(1, 5, child).fd(1, 6, child, true);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("live")));
        PlanContext ctx = TestPlanContext.of(images);
        List<fdrestore.api.spi.ProcessAction> actions = new PidfdKind().processActions(images.task(1).orElseThrow(), ctx);
        assertEquals(List.of(new fdrestore.api.spi.ProcessAction.Pidfd(List.of(4), 1, 0),
                new fdrestore.api.spi.ProcessAction.Pidfd(List.of(5, 6), 2, 04000)), actions,
                "one pidfd_open per file, put at each of its fds, PIDFD_NONBLOCK kept");
        assertEquals(List.of(), new PidfdKind().processActions(images.task(2).orElseThrow(), ctx));
        FileInfo info = new FileInfo(child, FdType.PIDFD, images.file(child).orElseThrow(),
                List.of(new FleInfo(1, 5, false), new FleInfo(1, 6, true)));
        assertTrue(new PidfdKind().plan(info, ctx) instanceof LivePidfd);
        FileInfo shared = new FileInfo(child, FdType.PIDFD, images.file(child).orElseThrow(),
                List.of(new FleInfo(1, 5, false), new FleInfo(2, 3, false)));
        PlanException e = assertThrows(PlanException.class, () -> new PidfdKind().plan(shared, ctx));
        assertTrue(e.getMessage().contains("pidfd file " + child + " of task 2 is shared by 2 tasks"), e.getMessage());
    }

    @Test
    void verifiesThatAGonePidfdIsGone() {
        FileEntry e = FileEntry.newBuilder().setType(FdType.PIDFD.code()).setId(3).setPidfd(ByteString.copyFrom(
                PidfdEntry.newBuilder().setId(3).setIno(1).setFlags(0).setNspid(-1)
                        .setFown(ImageSetBuilder.noOwner().toByteString()).build().toByteArray())).build();
        PidfdKind k = new PidfdKind();
        assertEquals(List.of(), k.verify(e, "anon_inode:[pidfd]", Fdinfo.parse("flags:\t02\nPid:\t-1\nNSpid:\t-1\n")));
        assertEquals(List.of("refers to pid 77, expected a process that is gone (Pid: -1)"),
                k.verify(e, "anon_inode:[pidfd]", Fdinfo.parse("flags:\t02\nPid:\t77\n")));
        assertEquals("pidfd of a process that is gone (ino 1)", k.describe(e, null));
    }
}
