package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.sys.Errno;
import fdrestore.core.sys.Linux;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Terminal cases that criu's zdtm corpus has no entry for, made with real processes (python3), dumped
 * with {@code fdrestore dump} and restored with {@code --verify}: slaves whose master was closed (hung
 * up), one opened by path and one got through TIOCGPTPEER, each with its own flags.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TerminalCasesTest {
    private final List<DumpRoundTripTest.Tree> trees = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void killEverything() {
        trees.forEach(DumpRoundTripTest.Tree::close);
        RestoreCommand.stop(restored);
    }

    private DumpRoundTripTest.Tree start(String script) throws Exception {
        DumpRoundTripTest.Tree t = new DumpRoundTripTest.Tree(script);
        trees.add(t);
        return t;
    }

    static String flags(int pid, int fd) throws Exception {
        return Files.readAllLines(Path.of("/proc/" + pid + "/fdinfo/" + fd)).stream().filter(l -> l.startsWith("flags:"))
                .findFirst().orElseThrow().substring(6).trim();
    }

    static String link(int pid, int fd) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
    }

    @Test
    void hungUpSlavesComeBackHungUpWithTheirFlags() throws Exception {
        DumpRoundTripTest.Tree t = start(String.join("\n",
                "m = os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY)",
                "fcntl.ioctl(m, 0x40045431, b'\\0\\0\\0\\0')",
                "n = int.from_bytes(fcntl.ioctl(m, 0x80045430, b'\\0\\0\\0\\0'), 'little')",
                "s = os.open('/dev/pts/%d' % n, os.O_RDWR | os.O_NOCTTY)",
                "p = fcntl.ioctl(m, 0x5441, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)",
                "os.dup2(s, 20); os.dup2(p, 21); os.close(s); os.close(p); os.close(m)",
                "ready(str(n))", ""));
        int pid = t.pid();
        String[] before = {flags(pid, 20), flags(pid, 21)};
        assertEquals("0100002", before[0], "opened by path: O_LARGEFILE");
        assertEquals("04001", before[1], "TIOCGPTPEER: no O_LARGEFILE");
        assertTrue(link(pid, 20).endsWith(" (deleted)"), link(pid, 20));
        CliRunner d = DumpRoundTripTest.dump(pid, tmp.resolve("images"));
        assertEquals(0, d.code, d.toString());
        assertTrue(d.out.contains("hung up (its master was closed)"), d.out);
        t.close();

        Map<Integer, Integer> pids = CliRunner.restoreDetached(restored, tmp.resolve("images"), Path.of("/"), "--hold").pids();
        int r = pids.values().iterator().next();
        assertEquals(before[0], flags(r, 20), "fd 20: the image's flags");
        assertEquals(before[1], flags(r, 21), "fd 21: the image's flags");
        for (int fd : new int[] {20, 21}) {
            assertTrue(link(r, fd).matches("/dev/pts/\\d+ \\(deleted\\)"), "its pty is gone: " + link(r, fd));
            int copy = TtyEndToEndTest.grab(r, fd);
            try {
                SysException x = assertThrows(SysException.class, () -> Sys.ioctl(copy, Linux.TCGETS, new byte[60]));
                assertEquals(Errno.EIO, x.errno(), "hung up: the terminal answers EIO");
            } finally {
                Sys.close(copy);
            }
        }
    }
}
