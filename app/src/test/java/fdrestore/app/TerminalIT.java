package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.Samples;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The progress line and the one-line errors as a user at a terminal sees them, through a pty this test
 * makes (never the runner's terminal): the distribution runs with stderr, or stdout, on its slave.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TerminalIT {
    private static final Path BIN = Path.of(System.getProperty("fdrestore.dist", "app/target/fdrestore-0.1.0-SNAPSHOT"))
            .resolve("bin/fdrestore");
    private static final long TIOCGPTN = 0x80045430L;
    private static final long TIOCSPTLCK = 0x40045431L;

    private final List<Integer> masters = new ArrayList<>();

    @AfterEach
    void closeMasters() {
        for (int m : masters) {
            try {
                Sys.close(m);
            } catch (SysException ignored) {
                // closed by the reader
            }
        }
    }

    /** A new pty: its master fd (kept by the test) and the path of its slave. */
    private String openPty() throws SysException {
        int m = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        masters.add(m);
        Sys.ioctl(m, TIOCSPTLCK, new byte[4]);
        byte[] idx = new byte[4];
        Sys.ioctl(m, TIOCGPTN, idx);
        return "/dev/pts/" + ((idx[0] & 0xff) | (idx[1] & 0xff) << 8 | (idx[2] & 0xff) << 16);
    }

    /** Runs the distribution with the given stdout/stderr and returns what the pty's master read. */
    private String run(boolean stderrOnPty, Path otherFile, String... args) throws Exception {
        String slave = openPty();
        int master = masters.get(masters.size() - 1);
        List<String> cmd = new ArrayList<>(List.of(BIN.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("FDRESTORE_SERVER", "off");
        pb.environment().remove("CI");
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (stderrOnPty) {
            pb.redirectError(new File(slave));
            pb.redirectOutput(otherFile.toFile());
        } else {
            pb.redirectOutput(new File(slave));
            pb.redirectError(otherFile.toFile());
        }
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[4096];
            try {
                while (true) {
                    int n = Sys.read(master, buf, 0, buf.length);
                    if (n <= 0) {
                        return;
                    }
                    synchronized (seen) {
                        seen.write(buf, 0, n);
                    }
                }
            } catch (SysException eio) {
                // EIO: the slave side is closed and everything written was read
            }
        }, "pty-reader");
        reader.start();
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the command ends");
        reader.join(10_000);
        synchronized (seen) {
            return seen.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void theProgressLineGoesToStderrWhenStderrIsATerminalAndIsLiveToTheEnd(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("big_32x64_shared_flat", tmp.resolve("root"));
        Path out = tmp.resolve("out.txt");
        String tty = run(true, out, "restore", "--root", root.toString(), "--hold", "--then=kill",
                Samples.criu("big_32x64_shared_flat").toString());
        String stdout = Files.readString(out);
        assertTrue(stdout.contains("Restored 32 tasks (2144 fds)"), stdout);
        assertFalse(stdout.contains("\r"), "no progress in stdout: " + stdout);
        assertTrue(tty.contains("\rfdrestore: "), "a progress line on the terminal: " + tty);
        assertTrue(tty.contains("tasks 32/32 | fds 2144/2144"), "its last state is the final count: " + tty);
    }

    @Test
    void noProgressWhenOnlyStdoutIsATerminal(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("big_32x64_shared_flat", tmp.resolve("root"));
        Path err = tmp.resolve("err.log");
        String tty = run(false, err, "restore", "--root", root.toString(), "--hold", "--then=kill",
                Samples.criu("big_32x64_shared_flat").toString());
        assertTrue(tty.contains("Restored 32 tasks (2144 fds)"), tty);
        assertEquals("", Files.readString(err), "2>err.log with a terminal on stdout: nothing in the log");
    }

    @Test
    void aBadOptionIsOneLineAndAHintOnTheTerminal(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out.txt");
        String tty = run(true, out, "restore", "--bogus", "-D", tmp.toString());
        assertEquals(List.of("fdrestore: Unknown option: '--bogus'", "Try 'fdrestore restore --help' for more information."),
                tty.lines().toList(), tty);
        assertEquals("", Files.readString(out));
        String criu = run(true, out, "restore", "--tcp-established", "-D", tmp.toString());
        assertTrue(criu.startsWith("fdrestore: criu option --tcp-established is not supported by fdrestore: "), criu);
        assertEquals(2, criu.lines().count(), criu);
    }
}
