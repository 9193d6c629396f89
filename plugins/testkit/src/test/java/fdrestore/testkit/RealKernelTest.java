package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Sys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real-kernel harness restores into private tables with the real transport, shows what they hold and
 * leaves nothing behind; a kind that leaves a temporary fails the restore, one that leaves an fd in the JVM
 * fails the close.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RealKernelTest {
    @TempDir
    Path tmp;

    /** Eventfds of the images: eventfd2(0, flags of the entry); {@code extra} is called after each open. */
    private static FileKind eventfds(Extra extra) {
        return new FileKind() {
            @Override
            public String name() {
                return "test-eventfd";
            }

            @Override
            public Set<FdType> fdTypes() {
                return Set.of(FdType.EVENTFD);
            }

            @Override
            public FileRestorer plan(FileInfo file, PlanContext ctx) {
                EventfdFileEntry e = file.entry().getEfd();
                return c -> {
                    int fd = c.table().eventfd(0, e.getFlags() & ~2);
                    extra.after(c.table());
                    return OpenResult.done(fd);
                };
            }
        };
    }

    @FunctionalInterface
    private interface Extra {
        void after(fdrestore.api.spi.TaskTable t) throws Exception;
    }

    /** Task 1 holds file A at 4 and file B at 6; task 2 holds file A at 5: A crosses through the transport. */
    private ImageSet twoTasks() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder().task(1, 0).task(2, 1);
        long a = b.eventfd(02 | 04000, 0);
        long c = b.eventfd(02, 0);
        b.fd(1, 4, a).fd(2, 5, a, true).fd(1, 6, c);
        b.regularFile("/not/restored", 0, 0);
        return ImageSet.open(b.write(tmp.resolve("images")));
    }

    @Test
    void restoresAcrossTasksShowsTheTablesAndEndsThemOnClose() throws Exception {
        ImageSet images = twoTasks();
        Map<Integer, String> jvm = Sys.fdTargets();
        int tid;
        try (RealKernel k = RealKernel.open()) {
            k.restore(images, eventfds(t -> { }));
            assertEquals(Map.of(
                    1, List.of("  fd 4 -> anon_inode:[eventfd] | pos: 0 ; flags: 04002 ; eventfd-count: 0",
                            "  fd 6 -> anon_inode:[eventfd] | pos: 0 ; flags: 02 ; eventfd-count: 0"),
                    2, List.of("  fd 5 -> anon_inode:[eventfd] | pos: 0 ; flags: 02004002 ; eventfd-count: 0")),
                    k.snapshot());
            assertTrue(k.sameFile(1, 4, 2, 5), "one description in both tasks");
            assertFalse(k.sameFile(1, 4, 1, 6), "two files, two descriptions");
            assertTrue(k.fdinfo(2, 5).contains("flags:\t02004002"), k.fdinfo(2, 5));
            assertEquals("anon_inode:[eventfd]", Files.readSymbolicLink(k.fd(1, 6)).toString());
            tid = k.tid(2);
            assertTrue(Files.exists(Path.of("/proc/self/task/" + tid)));
            assertThrows(IllegalStateException.class, () -> k.restore(images, eventfds(t -> { })),
                    "a task pid restored twice");
        }
        // The Java thread is joined; the kernel reaps the thread a moment after its last instruction.
        Path task = Path.of("/proc/self/task/" + tid);
        for (long end = System.nanoTime() + 10_000_000_000L; Files.exists(task) && System.nanoTime() < end; ) {
            Thread.sleep(10);
        }
        assertFalse(Files.exists(task), "the task's thread ended");
        assertEquals(Map.of(), FdLeaks.gainedSince(jvm), "nothing left in the JVM's table");
    }

    @Test
    void aTemporaryLeftInATaskFailsTheRestore() throws Exception {
        ImageSet images = twoTasks();
        try (RealKernel k = RealKernel.open()) {
            AssertionError e = assertThrows(AssertionError.class, () -> k.restore(images, eventfds(t -> t.eventfd(0, 0))));
            assertTrue(e.getMessage().contains("holds fds no image names"), e.getMessage());
        }
    }

    @Test
    void anFdLeftInTheJvmFailsTheClose() throws Exception {
        ImageSet images = twoTasks();
        int[] leaked = {-1};
        try {
            RealKernel k = RealKernel.open();
            k.restore(images, eventfds(t -> {
                if (leaked[0] < 0) {
                    leaked[0] = (int) Sys.libc().syscall(fdrestore.api.sys.Linux.SYS_EVENTFD2, 0,
                            fdrestore.api.sys.Linux.O_CLOEXEC);
                }
            }));
            AssertionError e = assertThrows(AssertionError.class, k::close);
            assertTrue(e.getMessage().contains("fds left in the JVM's own table since the harness opened: {"
                    + leaked[0] + "=anon_inode:[eventfd]}"), e.getMessage());
        } finally {
            Sys.closeQuietly(leaked[0]);
        }
    }
}
