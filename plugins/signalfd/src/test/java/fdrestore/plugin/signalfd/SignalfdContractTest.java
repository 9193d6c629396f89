package fdrestore.plugin.signalfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.signalfd.proto.SignalfdEntry;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The signalfd plugin through the testkit only: the contract (each scenario restores, adopt and the JVM's
 * signalfd4 leave nothing behind on any fault) and the plan's refusals of hostile fields.
 */
class SignalfdContractTest extends FileKindContractTest {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;

    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new SignalfdKind();
    }

    static long signalfd(ImageSetBuilder b, int flags, long mask) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.SIGNALFD.code()).setId(id)
                .setSgfd(ByteString.copyFrom(SignalfdEntry.newBuilder().setId(id).setFlags(flags)
                        .setFown(ImageSetBuilder.noOwner().toByteString()).setSigmask(mask).build().toByteArray()))
                .build());
    }

    static long raw(ImageSetBuilder b, byte[] sgfd) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.SIGNALFD.code()).setId(id)
                .setSgfd(ByteString.copyFrom(sgfd)).build());
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long usr1 = signalfd(v, O_RDWR | O_NONBLOCK, 1L << 9);
        long all = signalfd(v, O_RDWR, ~SignalfdKind.NEVER);
        long none = signalfd(v, O_RDWR, 0);
        v.fd(1, 4, usr1).fd(2, 4, usr1).fd(1, 7, all, true).fd(2, 3, none);
        return List.of(Scenario.of("masks and flags, one shared by two tasks", v).expect(x -> {
            assertEquals(List.of("adopt"), x.table(1).callNames().stream().filter("adopt"::equals).distinct().toList());
            assertEquals("anon_inode:[signalfd]", x.file(1, 4).what());
            assertEquals(O_RDWR | O_NONBLOCK, x.file(1, 4).flags() & (O_RDWR | O_NONBLOCK),
                    "SFD_NONBLOCK made in the JVM reaches the task");
            assertEquals(O_RDWR, x.file(1, 7).flags() & (O_RDWR | O_NONBLOCK));
            assertEquals(1, x.table(1).adopted().size() - 1, "task 1 adopts its two signalfds: " + x.table(1).adopted());
            assertEquals(List.of("anon_inode:[signalfd]"), x.table(2).adopted(), "the shared one is made once");
        }));
    }

    private static PlanContext ctx(ImageSet images) {
        return TestPlanContext.of(images);
    }

    private PlanException refused(java.util.function.ToLongFunction<ImageSetBuilder> make) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = make.applyAsLong(b);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.SIGNALFD, images.file(id).orElseThrow(),
                List.of(new FleInfo(1, 4, false)));
        return assertThrows(PlanException.class, () -> new SignalfdKind().plan(info, ctx(images)));
    }

    @Test
    void aMaskNamingSigkillOrSigstopIsRefusedBeforeAnySyscall() throws Exception {
        PlanException kill = refused(b -> signalfd(b, O_RDWR, 1L << 8));
        assertTrue(kill.getMessage().contains("field sigmask 0x100 names SIGKILL"), kill.getMessage());
        PlanException stop = refused(b -> signalfd(b, O_RDWR, 1L << 18 | 1));
        assertTrue(stop.getMessage().contains("field sigmask 0x40001 names SIGSTOP"), stop.getMessage());
    }

    @Test
    void flagsNoSignalfdHasAreRefused() throws Exception {
        PlanException e = refused(b -> signalfd(b, O_RDWR | 02000 /* O_APPEND */, 1));
        assertTrue(e.getMessage().contains("signalfd file") && e.getMessage().contains("field flags 02002"),
                e.getMessage());
        PlanException ro = refused(b -> signalfd(b, 0, 1));
        assertTrue(ro.getMessage().contains("field flags 00 "), ro.getMessage());
    }

    @Test
    void aMissingOrGarbledEntryIsRefused() throws Exception {
        PlanException none = refused(b -> b.file(id -> FileEntry.newBuilder().setType(FdType.SIGNALFD.code())
                .setId(id).build()));
        assertTrue(none.getMessage().contains("no signalfd entry (sgfd)"), none.getMessage());
        PlanException bad = refused(b -> raw(b, new byte[] {(byte) 0xff, (byte) 0xff}));
        assertTrue(bad.getMessage().contains("field sgfd is not a signalfd entry"), bad.getMessage());
    }
}
