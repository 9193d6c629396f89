package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
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
        RestoredTasks.stop(restored);
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
    /**
     * A session leader whose controlling terminal it holds no fd of (its child holds the slave, the master
     * is the root's, in another session), with /dev/tty open twice as one file; its child has a /dev/tty of
     * its own. Each /dev/tty is opened by its task's own process once the session has its terminal.
     */
    @Test
    void aLeaderWithoutAnFdOnItsTerminalAndDevTtyOpensComeBack() throws Exception {
        DumpRoundTripTest.Tree t = start(String.join("\n",
                "m = os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY)",
                "fcntl.ioctl(m, 0x40045431, b'\\0\\0\\0\\0')",
                "n = int.from_bytes(fcntl.ioctl(m, 0x80045430, b'\\0\\0\\0\\0'), 'little')",
                "os.dup2(m, 10); os.close(m)",
                "r, w = os.pipe()",
                "if os.fork() == 0:",
                "    os.close(10); os.close(r)",
                "    os.setsid()",
                "    s = os.open('/dev/pts/%d' % n, os.O_RDWR)",
                "    t = os.open('/dev/tty', os.O_RDWR); os.dup2(t, 20); os.dup2(t, 21); os.close(t)",
                "    if os.fork() == 0:",
                "        os.close(w); os.dup2(s, 5); os.close(s); os.close(20); os.close(21)",
                "        t2 = os.open('/dev/tty', os.O_RDONLY | os.O_NONBLOCK); os.dup2(t2, 22); os.close(t2)",
                "        time.sleep(1000)",
                "    os.close(s)",
                "    time.sleep(0.3)",
                "    os.write(w, b'x'); os.close(w)",
                "    time.sleep(1000)",
                "os.close(w); os.read(r, 1); os.close(r)",
                "ready(str(n))", ""));
        int root = t.pid();
        int index = Integer.parseInt(t.ready.substring(6).trim());
        List<Integer> all = t.pids();
        assertEquals(3, all.size(), "root, leader, child: " + all);
        int leader = Integer.parseInt(TtyEndToEndTest.stat(all.get(1))[1]) == root ? all.get(1) : all.get(2);
        int child = leader == all.get(1) ? all.get(2) : all.get(1);
        String[] before = {flags(leader, 20), flags(child, 22)};
        assertEquals("/dev/tty", link(leader, 20));
        CliRunner d = DumpRoundTripTest.dump(root, tmp.resolve("images"));
        assertEquals(0, d.code, d.toString());
        t.close();

        Map<Integer, Integer> pids = CliRunner.restoreDetached(restored, tmp.resolve("images"), Path.of("/"), "--hold").pids();
        int l = pids.get(leader);
        int c = pids.get(child);
        int ttyNr = (136 + index / 256) << 8 | index % 256;
        assertEquals(Integer.toString(l), TtyEndToEndTest.stat(l)[3], "the leader leads its session");
        assertEquals(ttyNr, TtyEndToEndTest.ttyNr(l), "its controlling terminal is the restored pty, without an fd on it");
        assertEquals(l, TtyEndToEndTest.tpgid(l), "its group is the foreground");
        assertEquals(ttyNr, TtyEndToEndTest.ttyNr(c), "the child inherits it");
        assertEquals("/dev/tty", link(l, 20));
        assertEquals("/dev/tty", link(l, 21));
        assertEquals("/dev/tty", link(c, 22));
        assertEquals(before[0], flags(l, 20));
        assertEquals(before[1], flags(c, 22));
        assertEquals(0, Sys.kcmp(l, l, Linux.KCMP_FILE, 20, 21), "fds 20 and 21: one open of /dev/tty");
        int tty = TtyEndToEndTest.grab(l, 20);
        int master = TtyEndToEndTest.grab(pids.get(root), 10);
        try {
            Sys.write(tty, "via-dev-tty".getBytes(), 0, 11);
            String got = "";
            for (int i = 0; i < 200 && !got.contains("via-dev-tty"); i++) {
                got += new String(TtyEndToEndTest.readAvailable(master));
                Thread.sleep(10);
            }
            assertTrue(got.contains("via-dev-tty"), "the leader's /dev/tty is the restored pty: " + got);
        } finally {
            Sys.close(tty);
            Sys.close(master);
        }
    }
}
