package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.json.Json;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores criu 4.2's f_timerfd sample (three timers shared by two tasks: armed, armed non-blocking,
 * disarmed) through the command line with --verify, compares the fd tables with expected.norm (clock,
 * settime flags and the interval, exactly), and reads each restored timer back with timerfd_gettime on a
 * copy taken with pidfd_getfd: the time left is at most what the image recorded and at least that minus
 * the time that passed since the restore began.
 */
class TimerfdEndToEndTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final long NS = 1_000_000_000L;

    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    static Map<Integer, Integer> restore(List<Integer> started, Path images, Path root, String... extra) {
        return assertTimeoutPreemptively(LIMIT, () -> CliRunner.restoreDetached(started, images, root, extra)).pids();
    }

    /** Compares the restored tables with expected.norm (image pids in the file's order). */
    static void assertLikeExpected(Path images, Path root, Map<Integer, Integer> pids) throws Exception {
        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        for (int imagePid : expected.keySet()) {
            ordered.put(imagePid, pids.get(imagePid));
        }
        assertEquals("", FdSnapshot.diff(expected, FdSnapshot.take(ordered, root)),
                "restored fd tables differ from expected.norm");
    }

    /** timerfd_gettime of fd {@code fd} of process {@code pid}, through a pidfd_getfd copy: {value s, ns, interval s, ns}. */
    static long[] timerfdGettime(int pid, int fd) throws SysException {
        int pidfd = Sys.pidfdOpen(pid, 0);
        try {
            int copy = Sys.pidfdGetfd(pidfd, fd);
            try {
                Pointer its = Native.allocate(32);
                long rc = Sys.libc().syscall(Linux.SYS_TIMERFD_GETTIME, copy, its.address());
                if (rc < 0) {
                    throw new SysException("timerfd_gettime(" + copy + ")", Native.errno());
                }
                return new long[] {its.getLong(16), its.getLong(24), its.getLong(0), its.getLong(8)};
            } finally {
                Sys.close(copy);
            }
        } finally {
            Sys.close(pidfd);
        }
    }

    @Test
    void fTimerfdRestoresClocksIntervalsAndTheTimeLeft(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("f_timerfd");
        Path root = Samples.prepareRoot("f_timerfd", tmp.resolve("root"));
        long begin = System.nanoTime();
        Map<Integer, Integer> pids = restore(started, images, root);
        assertLikeExpected(images, root, pids);
        for (int imagePid : new int[] {6748, 6750}) {
            int pid = pids.get(imagePid);
            long[] mono = timerfdGettime(pid, 3);
            long[] real = timerfdGettime(pid, 4);
            long[] off = timerfdGettime(pid, 5);
            long passed = System.nanoTime() - begin;
            // Intervals exact.
            assertEquals(0, mono[2]);
            assertEquals(250_000_000L, mono[3]);
            assertEquals(3600, real[2]);
            assertEquals(0, real[3]);
            assertEquals(List.of(0L, 0L, 0L, 0L), Arrays.stream(off).boxed().toList(), "fd 5 stays disarmed");
            // fd 4: 3599.699265157 s were left at dump time; it cannot have expired since.
            long realLeft = real[0] * NS + real[1];
            long realImage = 3599 * NS + 699_265_157L;
            assertTrue(realLeft <= realImage && realLeft >= realImage - passed,
                    "fd 4 left " + realLeft + " ns, image " + realImage + " ns, " + passed + " ns passed");
            // fd 3: 0.699304987 s left, then every 0.25 s: armed, and never more than the image's value.
            long monoLeft = mono[0] * NS + mono[1];
            assertTrue(monoLeft > 0 && monoLeft <= 699_304_987L, "fd 3 left " + monoLeft + " ns");
            if (passed < 699_304_987L) {
                assertTrue(monoLeft >= 699_304_987L - passed, "fd 3 left " + monoLeft + " ns after " + passed + " ns");
            }
        }
        // Both tasks share each timer: one description.
        assertEquals(0, Sys.kcmp(pids.get(6748), pids.get(6750), Linux.KCMP_FILE, 4, 4));
    }

    @Test
    void anAbsoluteTimerIsArmedAtNowPlusTheTimeLeft(@TempDir Path tmp) throws Exception {
        fdrestore.testkit.ImageSetBuilder b = new fdrestore.testkit.ImageSetBuilder();
        b.task(1, 0);
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        // CLOCK_REALTIME, TFD_TIMER_ABSTIME, 100 s left, 7 s interval; 5 unread expirations.
        long abs = b.timerfd(0, Linux.O_RDWR, 1, 5, 100, 0, 7, 0);
        b.fd(1, 0, devnull).fd(1, 1, devnull).fd(1, 2, devnull).fd(1, 3, abs);
        Path images = b.write(tmp.resolve("images"));
        long begin = System.nanoTime();
        Map<Integer, Integer> pids = restore(started, images, Path.of("/"));
        long[] t = timerfdGettime(pids.get(1), 3);
        long passed = System.nanoTime() - begin;
        long left = t[0] * NS + t[1];
        assertTrue(left <= 100 * NS && left >= 100 * NS - passed, "left " + left + " ns after " + passed + " ns");
        assertEquals(7, t[2]);
        String info = String.join("\n", java.nio.file.Files.readAllLines(
                Path.of("/proc", pids.get(1).toString(), "fdinfo", "3"))).replaceAll("[ \\t]+", " ");
        assertTrue(info.contains("settime flags: 01"), info);
        assertTrue(info.contains("ticks: 5") || info.contains("ticks: 0"), info); // 0 without CONFIG_CHECKPOINT_RESTORE
    }
}
