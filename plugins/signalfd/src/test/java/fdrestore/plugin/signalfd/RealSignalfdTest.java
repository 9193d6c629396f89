package fdrestore.plugin.signalfd;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Signalfds restored by the engine into a real private fd table, checked through the kernel's fdinfo. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealSignalfdTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void masksAndFlagsReachTheTasksTable() {
        assertTimeoutPreemptively(LIMIT, () -> {
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long usr1 = SignalfdContractTest.signalfd(b, 02 | 04000, 1L << 9);
            long many = SignalfdContractTest.signalfd(b, 02, 0x8000_0000_0000_0001L | 1L << 33);
            b.fd(1, 4, usr1).fd(1, 9, many, true);
            ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
            // The harness fails the restore on a temporary left in the table, its close on a signalfd
            // left in the JVM's.
            try (RealKernel k = RealKernel.open()) {
                k.restore(images, new SignalfdKind());
                String a = k.fdinfo(1, 4);
                assertTrue(a.contains("sigmask:\t0000000000000200\n"), a);
                assertTrue(a.contains("flags:\t04002\n"), a);
                String c = k.fdinfo(1, 9);
                assertTrue(c.contains("sigmask:\t8000000200000001\n"), c);
                assertTrue(c.contains("flags:\t02000002\n"), "O_RDWR with FD_CLOEXEC from the image: " + c);
            }
        });
    }
}
