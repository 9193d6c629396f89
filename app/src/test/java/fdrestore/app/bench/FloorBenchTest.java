package fdrestore.app.bench;

import fdrestore.app.Cli;
import fdrestore.app.CliRunner;
import fdrestore.app.HardeningSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench --floor}: the C floor builds, runs and reports a parsable line; FloorBench's Java round puts
 * /dev/null at every target of the receiving table and leaks nothing; the CLI prints the ratio. No timing
 * is asserted.
 */
class FloorBenchTest {
    private static final int FDS = 600;

    /** The JUnit condition of the gcc tests: skipped (with this reason) when gcc is not on the PATH. */
    static boolean gccPresent() {
        return CFloor.gcc() != null;
    }

    @Test
    @EnabledIf(value = "gccPresent", disabledReason = "gcc is not on the PATH: the C floor can not be compiled")
    void theCFloorCompilesRunsAndPrintsAParsableLine(@TempDir Path tmp) {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Path exe = CFloor.compileFloor(CFloor.floorSource(), tmp);
            List<String> lines = CFloor.runFloor(exe, FDS, 1, FDS);
            Map<String, String> m = CFloor.parseFloorLine(lines.get(lines.size() - 1));
            assertEquals("600", m.get("fds"), lines.toString());
            assertEquals("1", m.get("rounds"), lines.toString());
            assertEquals("600", m.get("window"), lines.toString());
            assertEquals("1", m.get("passes"), lines.toString());
            assertTrue(Double.parseDouble(m.get("median_ns_per_fd")) > 0, lines.toString());
            assertTrue(Double.parseDouble(m.get("transport_median_ns_per_fd")) > 0, lines.toString());
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("round 1: 600 fds")), lines.toString());
        });
    }

    @Test
    @EnabledIf(value = "gccPresent", disabledReason = "gcc is not on the PATH: the C floor can not be compiled")
    void theCFloorRunsInPassesWhenTheWindowIsSmaller(@TempDir Path tmp) {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Path exe = CFloor.compileFloor(CFloor.floorSource(), tmp);
            List<String> lines = CFloor.runFloor(exe, FDS, 2, 253);
            Map<String, String> m = CFloor.parseFloorLine(lines.get(lines.size() - 1));
            assertEquals("600", m.get("fds"), lines.toString());
            assertEquals("3", m.get("passes"), lines.toString());
        });
    }

    @Test
    void theFloorLineParserRefusesAnIncompleteLine() {
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> CFloor.parseFloorLine("floor fds=600 rounds=1 median_ns_per_fd=12.0"));
        assertTrue(e.getMessage().contains("lacks"), e.getMessage());
    }

    @Test
    void theJavaRoundPutsDevNullAtEveryTargetAndLeaksNothing() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            TaskRuntime.warmUp();
            // A first bench, so that whatever the JVM opens once (SecureRandom's device ...) is open before counting.
            FloorBench.run(FDS, 1, 0, FDS);
            Map<Integer, String> jvmFdsBefore = HardeningSupport.jvmFds();
            long rdev = (long) Files.getAttribute(Path.of("/dev/null"), "unix:rdev");

            FloorBench b = new FloorBench(FDS, FDS);
            ExecutorTaskTable recv;
            ExecutorTaskTable send;
            try {
                b.open();
                recv = b.receiver();
                send = b.sender();
                int[] recvBefore = recv.listFds();
                int[] sendBefore = send.listFds();
                b.round();                                   // targets closed at its end
                assertArrayEquals(recvBefore, recv.listFds(), "a round closes its targets and temporaries");
                assertArrayEquals(sendBefore, send.listFds(), "the sender closes its copies");

                FloorBench.Round r = b.round(true);          // targets kept
                assertEquals(FDS, r.fds());
                assertTrue(r.roundNs() > 0 && r.sendNs() > 0 && r.receiveNs() > 0, r.toString());

                // Every target holds /dev/null: fstat in the receiver's table, and /proc's view of its fd table.
                Batch q = recv.batch();
                List<Batch.StatRef> stats = new ArrayList<>();
                for (int i = 0; i < FDS; i++) {
                    stats.add(q.fstat(q.fd(FloorBench.TARGET_BASE + i)));
                }
                q.run();
                Path fdDir = Path.of("/proc/self/task/" + recv.tid() + "/fd");
                for (int i = 0; i < FDS; i++) {
                    int target = FloorBench.TARGET_BASE + i;
                    TaskTable.Stat st = stats.get(i).stat();
                    assertEquals(0020000, st.type(), "fd " + target + " is a character device");
                    assertEquals(rdev, st.rdev(), "fd " + target + " is /dev/null");
                    assertEquals("/dev/null", Files.readSymbolicLink(fdDir.resolve(Integer.toString(target))).toString(),
                            "fd " + target);
                    assertEquals(1L, recv.fcntl(target, fdrestore.api.sys.Linux.F_GETFD, 0),
                            "fd " + target + " has FD_CLOEXEC");
                }
                assertFalse(Files.exists(fdDir.resolve(Integer.toString(FloorBench.TARGET_BASE + FDS))),
                        "nothing past the last target");
                // Only the targets were added: the received temporaries are gone.
                int[] now = recv.listFds();
                assertEquals(recvBefore.length + FDS, now.length, "targets only, no temporary left");

                b.closeTargets(FDS);
                assertArrayEquals(recvBefore, recv.listFds());
                assertArrayEquals(sendBefore, send.listFds());
            } finally {
                b.close();
            }
            assertTrue(recv.isClosed() && send.isClosed(), "both tables closed");
            // The executors' threads end (and with them their private tables): the kernel reaps them shortly after.
            awaitGone(Path.of("/proc/self/task/" + recv.tid()));
            awaitGone(Path.of("/proc/self/task/" + send.tid()));
            assertEquals(List.of(), HardeningSupport.gainedSince(jvmFdsBefore), "the JVM's own fd table gained nothing");
        });
    }

    @Test
    @EnabledIf(value = "gccPresent", disabledReason = "gcc is not on the PATH: the C floor can not be compiled")
    void benchFloorThroughTheCliPrintsTheRatio() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            CliRunner r = CliRunner.run("bench", "--floor", "--fds", "600", "--runs", "1", "--warmup", "1");
            assertEquals(0, r.code, r.toString());
            assertTrue(r.out.contains("floor: 600 fds a round, 1 rounds"), r.toString());
            assertTrue(r.out.matches("(?s).*round \\(median\\)\\s+\\d+\\.\\d\\s+\\d+\\.\\d\\s+\\d+\\.\\d\\dx.*"), r.toString());
            assertTrue(r.out.matches("(?s).*ratio fdrestore / C floor: \\d+\\.\\d\\dx per fd.*"), r.toString());

            CliRunner j = CliRunner.run("bench", "--floor", "--fds", "600", "--runs", "1", "--warmup", "0", "--json");
            assertEquals(0, j.code, j.toString());
            @SuppressWarnings("unchecked")
            Map<String, Object> doc = (Map<String, Object>) fdrestore.core.json.Json.parse(j.out);
            assertEquals(600, ((Number) doc.get("fds")).intValue(), j.out);
            assertTrue(((Number) doc.get("ratio")).doubleValue() > 0, j.out);
            assertTrue(doc.containsKey("transportRatio"), j.out);
        });
    }

    @Test
    void benchFloorRefusesAnImageSet() {
        CliRunner r = CliRunner.run("bench", "--floor", "--generate", "2x2");
        assertEquals(Cli.EXIT_USAGE, r.code, r.toString());
        assertTrue(r.err.contains("--floor"), r.toString());
    }

    /** Waits until {@code p} is gone; the test's preemptive timeout bounds the wait. */
    private static void awaitGone(Path p) throws InterruptedException {
        while (Files.exists(p)) {
            Thread.sleep(5);
        }
    }
}
