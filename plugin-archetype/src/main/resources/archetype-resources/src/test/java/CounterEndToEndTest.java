package ${package};

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump to restore on the real kernel: a real counter of this JVM is dumped by the kind, written as an
 * image set, planned from it and restored by the engine into a task's own fd table, which ends up with
 * the same counter and flags at the same fd.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CounterEndToEndTest {
    @TempDir
    Path tmp;

    private static FileEntry dumpRealCounter(long count, int flags) throws Exception {
        int fd = (int) Sys.libc().syscall(Linux.SYS_EVENTFD2, count, flags | Linux.O_CLOEXEC);
        assertTrue(fd >= 0, "eventfd2 failed");
        try {
            return RealKernel.dump(new CounterKind(), fd, 1);
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    @Test
    void aDumpedCounterIsRestoredWithItsValueAndFlags() throws Exception {
        FileEntry dumped = dumpRealCounter(42, CounterKind.EFD_NONBLOCK);
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.file(i -> dumped.toBuilder().setId(i).setEfd(dumped.getEfd().toBuilder().setId(i)).build());
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));

        try (RealKernel kernel = RealKernel.open()) {
            kernel.restore(images, new CounterKind());
            Map<Integer, List<String>> fds = kernel.snapshot();
            assertEquals(Map.of(1, List.of("  fd 4 -> anon_inode:[eventfd] | pos: 0 ; flags: 04002 ; eventfd-count: 2a")),
                    fds, "the counter at fd 4, O_RDWR|O_NONBLOCK, 42 in hex");
        }
    }
}
