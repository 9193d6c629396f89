package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.json.Json;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --shell-job --inherit-fd}, end to end through the distribution, on terminals this test
 * makes (python3's pty module plays tmux, see shell-job.py): a job (cat, in its own group in the
 * foreground of terminal A, reading a pipe its shell writes) is dumped with {@code fdrestore dump}, then
 * restored onto terminal B, where fdrestore is the session leader: the job joins fdrestore's session in a
 * group of its own, gets the terminal's foreground, its fds 1-2 are on B, its fd 0 is the pipe this test
 * hands fdrestore as fd[N]:pipe:[ino]; data goes in through that pipe and comes out on B, and a Ctrl-C
 * typed on B reaches the job. Without --shell-job the external terminal is refused in one line, and
 * --shell-job without a terminal on stdin is a usage error.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@EnabledIf(value = "python3AndPtys", disabledReason = "needs python3 (its pty module plays the terminal) and /dev/ptmx")
class ShellJobIT {
    static boolean python3AndPtys() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import pty, os; os.close(os.open('/dev/ptmx', os.O_RDWR))")
                    .redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    private static int num(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).intValue();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aJobOnATerminalIsDumpedAndRestoredOntoANewTerminalWithAnInheritedPipe(@TempDir Path tmp) throws Exception {
        Path script = tmp.resolve("shell-job.py");
        try (InputStream in = ShellJobIT.class.getResourceAsStream("shell-job.py")) {
            Files.write(script, in.readAllBytes());
        }
        Path bin = Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore");
        Process p = new ProcessBuilder("python3", script.toString(), bin.toString(), tmp.resolve("images").toString())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectError(tmp.resolve("driver.err").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(170, TimeUnit.SECONDS), "the driver ends");
        String why = out + Files.readString(tmp.resolve("driver.err"));
        assertEquals(0, p.exitValue(), why);
        Map<String, Object> r = (Map<String, Object>) Json.parse(out);

        Map<String, Object> original = map(r, "original");
        Map<String, Object> before = map(original, "stat");
        assertNotEquals(num(before, "sid"), num(original, "job"), "the job does not lead its session: its shell does");
        assertEquals(num(original, "job"), num(before, "tpgid"), "the job was the foreground of terminal A");
        assertEquals(0, num(map(r, "dump"), "rc"), why);

        Map<String, Object> plain = map(r, "plain");
        assertEquals(1, num(plain, "rc"), why);
        String err = ((String) plain.get("err")).strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.contains("task " + num(original, "job") + " fd 1 (tty file ") && err.contains("was held outside the"
                + " dumped tree") && err.contains("--shell-job") && err.contains("--inherit-fd fd[N]:tty["), err);

        Map<String, Object> noterm = map(r, "noterm");
        assertEquals(2, num(noterm, "rc"), why);
        assertTrue(((String) noterm.get("err")).contains("--shell-job: stdin is not a terminal"), why);

        Map<String, Object> b = map(r, "shelljob");
        assertTrue(b.containsKey("job"), "a restored cat under fdrestore: " + why);
        int fdrestore = num(b, "pid");
        int job = num(b, "job");
        Map<String, Object> st = map(b, "stat");
        assertEquals(fdrestore, num(st, "sid"), "the job joined fdrestore's session");
        assertEquals(job, num(st, "pgrp"), "in a process group of its own, as it was");
        assertEquals(job, num(st, "tpgid"), "its group is the foreground of terminal B");
        assertEquals(num(map(b, "fdrestore"), "tty_nr"), num(st, "tty_nr"), "terminal B is its controlling terminal");
        Map<String, Object> fds = map(b, "fds");
        String terminal = (String) b.get("terminal");
        assertNotEquals(original.get("tty"), terminal, "B is another terminal than A");
        assertEquals(Map.of("0", "pipe:[" + num(b, "pipe") + "]", "1", terminal, "2", terminal), fds,
                "fd 0 the inherited pipe (not the image's " + original.get("pipe") + "), fds 1-2 on terminal B");
        String screen = (String) b.get("screen");
        assertTrue(screen.contains("Restored 1 task (3 fds)"), screen);
        assertTrue(screen.contains("in through the inherited pipe"), "cat copied the pipe's line onto B: " + screen);
        assertEquals(0, num(b, "rc"), "fdrestore's wait ended with the job: " + screen);
        assertFalse((Boolean) b.get("job_after_ctrl_c"), "Ctrl-C on B reached the job");
    }
}
