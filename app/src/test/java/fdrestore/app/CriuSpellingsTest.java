package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.process.Processes;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A script written for criu restore runs unchanged: criu's spellings with criu's meaning. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CriuSpellingsTest {
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopTasks() {
        RestoredTasks.stop(started);
    }

    /** Every task of the tree under {@code pid}, from /proc (the test did not get them from --json). */
    private static List<Integer> tree(int pid) throws Exception {
        List<Integer> all = new ArrayList<>(List.of(pid));
        for (int i = 0; i < all.size(); i++) {
            Path children = Path.of("/proc", String.valueOf(all.get(i)), "task", String.valueOf(all.get(i)), "children");
            if (Files.exists(children)) {
                for (String c : Files.readString(children).trim().split("\\s+")) {
                    if (!c.isEmpty()) {
                        all.add(Integer.parseInt(c));
                    }
                }
            }
        }
        return all;
    }

    @Test
    void criusRestoreCommandLineWorksAndLeavesThePidFileAndTheLog(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        Path pidFile = tmp.resolve("root.pid");
        Path log = tmp.resolve("restore.log");
        CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--hold", "-D", Samples.criu("a_pipe").toString(),
                "-d", "--pidfile", pidFile.toString(), "-v4", "-o", log.toString());
        String pid = Files.exists(pidFile) ? Files.readString(pidFile) : "";
        if (pid.strip().matches("[0-9]+")) {
            started.addAll(tree(Integer.parseInt(pid.strip()))); // stopped after the test, whatever its format
        }
        assertEquals(0, r.code, r.toString());
        assertTrue(pid.matches("[1-9][0-9]*"), "criu's pid file: the decimal pid, no newline: '" + pid + "'");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pidFile)));
        assertTrue(Processes.running(Integer.parseInt(pid)), "the root task runs (detached)");
        assertEquals(4, started.size(), "the root task is the root of the 4-task tree: " + started);
        assertTrue(r.out.contains(" " + pid + " "), "the pid file holds the root task's pid\n" + r.out);
        String logText = Files.readString(log);
        assertTrue(logText.contains("DEBUG") && logText.contains("restore --root"), logText);
        assertEquals("", r.err, "criu's -v4 with -o logs to the file only");
    }

    @Test
    void aPidFileThatExistsIsRefusedBeforeAnythingIsRestored(@TempDir Path tmp) throws Exception {
        Path pidFile = Files.writeString(tmp.resolve("root.pid"), "1");
        CliRunner r = CliRunner.run("restore", "-D", Samples.criu("a_pipe").toString(), "-d", "--pidfile", pidFile.toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("--pidfile " + pidFile + ": the file exists"), r.toString());
        assertEquals("1", Files.readString(pidFile));
        assertFalse(r.out.contains("Restored"), r.toString());
    }

    @Test
    void criuOptionsFdrestoreDoesNotImplementAreRefusedSayingWhy() {
        for (String opt : List.of("--tcp-established", "--ext-unix-sk", "--manage-cgroups", "--lazy-pages")) {
            CliRunner r = CliRunner.run("restore", opt, "-D", "/nonexistent");
            assertEquals(2, r.code, r.toString());
            List<String> lines = r.err.lines().toList();
            assertEquals(2, lines.size(), r.toString());
            assertTrue(lines.get(0).startsWith("fdrestore: criu option " + opt + " is not supported by fdrestore: "), r.toString());
            assertEquals("Try 'fdrestore restore --help' for more information.", lines.get(1));
        }
    }

    @Test
    void aBadOptionIsOneLineAndAHintNotTheUsage() {
        for (String[] args : List.of(new String[] {"restore", "--bogus", "DIR"}, new String[] {"show"},
                new String[] {"restore", "--then=maybe", "DIR"}, new String[] {"nosuchcommand"})) {
            CliRunner r = CliRunner.run(args);
            assertEquals(2, r.code, r.toString());
            List<String> lines = r.err.lines().toList();
            assertEquals(2, lines.size(), String.join(" ", args) + ": " + r);
            assertTrue(lines.get(0).startsWith("fdrestore: "), r.toString());
            assertTrue(lines.get(1).matches("Try 'fdrestore( \\w+)? --help' for more information\\."), r.toString());
            assertEquals("", r.out, r.toString());
        }
    }

    @Test
    void anUnknownPluginOptionIsAnErrorNamingTheKnownOnes(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--plugin-option", "foo=bar", "-d",
                Samples.criu("a_pipe").toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("--plugin-option foo: no plugin reads this option; the known ones are allow-devices, "
                + "inet.fown, inotify.drop-missing, memfd.max-size, netlink.port, pty-any-index, regular-file.fown"),
                r.toString());
        assertFalse(r.out.contains("Restored"), r.toString());
    }

    @Test
    void theOldPluginOptionSpellingAsMinusOIsRefusedNotTakenForALogFile(@TempDir Path tmp) {
        CliRunner r = CliRunner.run("restore", "-o", "pty-any-index=true", "-D", tmp.toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("--plugin-option"), r.toString());
        assertTrue(Files.notExists(Path.of("pty-any-index=true")), "no log file made");
    }

    @Test
    void twoImageDirectoriesAreRefused(@TempDir Path tmp) {
        CliRunner r = CliRunner.run("restore", "-D", tmp.resolve("a").toString(), tmp.resolve("b").toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("two image directories"), r.toString());
        CliRunner none = CliRunner.run("restore", "-d");
        assertEquals(2, none.code, none.toString());
        assertTrue(none.err.contains("give DIR or -D DIR"), none.toString());
    }
}
