package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Sys;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * criu 4.2's zdtm signalfd00 (a signalfd for SIGUSR1, SFD_NONBLOCK) restored through the command line with
 * --verify (which runs the signalfd kind's own check of the mask), its signalfd compared with expected.norm.
 */
class SignalfdEndToEndTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final int SIGUSR1 = 10;

    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private static Path entry() {
        return Samples.root().resolve("criu-4.2/zdtm/signalfd00");
    }

    private static Path copyRoot(Path tmp) throws Exception {
        Path src = entry().resolve("root");
        Path dst = tmp.resolve("root");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path to = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        // git keeps no modes: the run directory was 0777 (criu-result.txt lists it), and the restore checks it
        Files.setPosixFilePermissions(dst.resolve("tmp/zdtm2/run/signalfd00"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        return dst;
    }

    private Map<Integer, Integer> restore(Path root) {
        return assertTimeoutPreemptively(LIMIT, () -> CliRunner.restoreDetached(started, entry(), root)).pids();
    }

    @Test
    void signalfd00RestoresItsSignalfdIdentical(@TempDir Path tmp) throws Exception {
        Path root = copyRoot(tmp);
        Map<Integer, Integer> pids = restore(root);
        int pid = pids.get(18363);
        Map<Integer, List<String>> expected = FdSnapshot.readExpected(entry().resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        ordered.put(18363, pid);
        List<String> actual = FdSnapshot.take(ordered, root).get(18363);
        String fd4 = "  fd 4 -> anon_inode:[signalfd] | pos: 0 ; flags: 04002";
        assertTrue(expected.get(18363).contains(fd4), "the sample's own line: " + expected);
        assertTrue(actual.contains(fd4), "restored: " + actual);
        List<String> info = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "fdinfo", "4"));
        assertTrue(info.contains("sigmask:\t0000000000000200"), info.toString());
    }

    /**
     * A signal sent to the restored task waits for its signalfd: the task must block SIGUSR1 as it did
     * (core-PID.img's blocked mask), else the signal ends the holder instead.
     */
    @Test
    void aSignalSentToTheRestoredTaskWaitsForItsSignalfd(@TempDir Path tmp) throws Exception {
        Path root = copyRoot(tmp);
        int pid = restore(root).get(18363);
        Sys.kill(pid, SIGUSR1);
        Thread.sleep(200);
        List<String> status = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"));
        assertTrue(status.stream().anyMatch(l -> l.startsWith("SigBlk:") && (Long.parseLong(l.substring(7).trim(), 16)
                & 1L << (SIGUSR1 - 1)) != 0), "SIGUSR1 is blocked as the image records: " + status);
        long pending = status.stream().filter(l -> l.startsWith("ShdPnd:")).mapToLong(l -> Long.parseLong(l.substring(7)
                .trim(), 16)).findFirst().orElse(0);
        assertEquals(1L << (SIGUSR1 - 1), pending & 1L << (SIGUSR1 - 1), "SIGUSR1 waits for the signalfd: " + status);
    }
}
