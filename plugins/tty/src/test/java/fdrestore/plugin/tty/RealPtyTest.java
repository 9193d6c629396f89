package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.F_GETFL;
import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NOCTTY;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDWR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.WinsizeEntry;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import fdrestore.testkit.RealKernel;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real ptys, made by the test in the JVM's own table (termios, window size, locked termios, lock, packet
 * mode, queued data in both directions), captured into images the way CRIU dumps them, closed, then
 * restored by the engine into real private fd tables and compared with the kernel field by field.
 */
@EnabledIf(value = "ptysAvailable", disabledReason = "needs Linux private fd tables and a usable /dev/ptmx (root)")
class RealPtyTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private RealKernel kernel;
    private final List<Integer> jvmFds = new ArrayList<>();

    static boolean ptysAvailable() {
        try {
            int fd = Sys.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
            Sys.close(fd);
            return System.getProperty("os.name").toLowerCase().contains("linux");
        } catch (Throwable e) {
            return false;
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (int fd : jvmFds) {
            Sys.closeQuietly(fd);
        }
        if (kernel != null) {
            kernel.close();
        }
    }

    // ---- an original pty, in the JVM's table -------------------------------------------------------

    /** A live pty of this JVM: master and slave fds, and its index. */
    private record Live(int master, int slave, int index) {
    }

    private Live newPty() throws SysException {
        int m = Sys.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
        jvmFds.add(m);
        Sys.ioctl(m, Tty.TIOCSPTLCK, Tty.intArg(0));
        byte[] n = new byte[4];
        Sys.ioctl(m, Tty.TIOCGPTN, n);
        int index = Tty.intOf(n);
        int s = Sys.open("/dev/pts/" + index, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
        jvmFds.add(s);
        return new Live(m, s, index);
    }

    private void close(int fd) throws SysException {
        Sys.close(fd);
        jvmFds.remove(Integer.valueOf(fd));
    }

    private static int getInt(int fd, long req) throws SysException {
        byte[] b = new byte[4];
        Sys.ioctl(fd, req, b);
        return Tty.intOf(b);
    }

    private static Termios tcgets(int fd, long req) throws SysException {
        byte[] b = new byte[Termios.SIZE];
        Sys.ioctl(fd, req, b);
        return Termios.decode(b);
    }

    /** Reads exactly {@code n} bytes from a non-blocking tty fd of this JVM (a read flushes the tty's buffer). */
    private static byte[] drain(int fd, int n) throws SysException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        for (int spins = 0; out.size() < n && spins < 1_000_000; spins++) {
            int k = Sys.read(fd, buf, 0, buf.length);
            if (k > 0) {
                out.write(buf, 0, k);
            } else if (k == 0) {
                break;
            } else {
                Thread.onSpinWait();
            }
        }
        return out.toByteArray();
    }

    /** The tty-info entries a dump of {@code p} writes (CRIU reads everything through the master: real_tty). */
    private static TtyInfoEntry[] capture(Live p) throws SysException {
        byte[] w = new byte[8];
        Sys.ioctl(p.master, Tty.TIOCGWINSZ, w);
        TtyInfoEntry.Builder b = PtyImageSet.info(p.index, true)
                .setTermios(tcgets(p.master, Tty.TCGETS).toEntry())
                .setTermiosLocked(tcgets(p.master, Tty.TIOCGLCKTRMIOS).toEntry())
                .setWinsize(Termios.winsize(w))
                .setLocked(getInt(p.master, Tty.TIOCGPTLCK) != 0)
                .setPacketMode(getInt(p.master, Tty.TIOCGPKT) != 0)
                .setExclusive(getInt(p.master, Tty.TIOCGEXCL) != 0);
        TtyInfoEntry master = b.build();
        TtyInfoEntry slave = b.setId(p.index * 2).setRdev(((136 + p.index / 256) << 8) | p.index % 256)
                .setExclusive(getInt(p.slave, Tty.TIOCGEXCL) != 0).build();
        return new TtyInfoEntry[] {master, slave};
    }

    // ---- restoring ------------------------------------------------------------------------------------

    private TaskTable table(int pid) {
        return kernel.table(pid);
    }

    /**
     * Restores the ttys of {@code images} into a fresh harness, one real table per task (opened after the
     * test's own ptys, which its close does not count as leaks).
     */
    private void restore(ImageSet images, Map<String, String> options) throws Exception {
        if (kernel != null) {
            kernel.close();
        }
        kernel = RealKernel.open();
        assertTimeoutPreemptively(LIMIT, () -> {
            kernel.restore(TestPlanContext.of(images).options(options), new TtyKind());
        });
    }

    private Termios restoredTermios(int pid, int fd, long req) throws Exception {
        byte[] b = new byte[Termios.SIZE];
        table(pid).ioctl(fd, req, b);
        return Termios.decode(b);
    }

    private int restoredInt(int pid, int fd, long req) throws Exception {
        byte[] b = new byte[4];
        table(pid).ioctl(fd, req, b);
        return Tty.intOf(b);
    }

    /** Reads {@code n} bytes from a restored fd, non-blocking for the time of the read. */
    private byte[] readRestored(int pid, int fd, int n) throws Exception {
        TaskTable t = table(pid);
        long flags = t.fcntl(fd, F_GETFL, 0);
        t.fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            for (int spins = 0; out.size() < n && spins < 100_000; spins++) {
                int k = t.read(fd, buf, 0, buf.length);
                if (k > 0) {
                    out.write(buf, 0, k);
                } else if (k == 0) {
                    break;
                }
            }
            return out.toByteArray();
        } finally {
            t.fcntl(fd, F_SETFL, flags);
        }
    }

    private void assertNoTemporaries(int pid) throws Exception {
        assertEquals(List.of(), kernel.strays(pid), "temporaries left in task " + pid);
    }

    private static void assertTermiosEquals(Termios want, Termios got, String what) {
        assertEquals(Integer.toOctalString(want.iflag()), Integer.toOctalString(got.iflag()), what + " c_iflag");
        assertEquals(Integer.toOctalString(want.oflag()), Integer.toOctalString(got.oflag()), what + " c_oflag");
        assertEquals(Integer.toOctalString(want.cflag()), Integer.toOctalString(got.cflag()), what + " c_cflag");
        assertEquals(Integer.toOctalString(want.lflag()), Integer.toOctalString(got.lflag()), what + " c_lflag");
        assertEquals(want.line(), got.line(), what + " c_line");
        for (int i = 0; i < Termios.NCCS; i++) {
            assertEquals(want.cc()[i], got.cc()[i], what + " c_cc[" + i + "]");
        }
    }

    // ---- tests -----------------------------------------------------------------------------------------

    @Test
    void termiosWindowSizeLockedTermiosAndQueuedDataInBothDirectionsComeBack() throws Exception {
        Live p = newPty();
        Termios t = tcgets(p.master, Tty.TCGETS);
        byte[] cc = t.cc().clone();
        cc[5] = 7;     // VTIME
        cc[6] = 3;     // VMIN
        cc[0] = 0x18;  // VINTR = ^X
        Termios set = new Termios(t.iflag() | 040000 /* IUTF8 */, t.oflag(), t.cflag(),
                t.lflag() & ~(Termios.ECHO | Termios.ECHOCTL), t.line(), cc);
        Sys.ioctl(p.master, Tty.TCSETS, set.encode());
        Termios lockedBits = new Termios(040000, 0, 0, Termios.ICANON, 0, new byte[Termios.NCCS]);
        Sys.ioctl(p.master, Tty.TIOCSLCKTRMIOS, lockedBits.encode());
        WinsizeEntry ws = WinsizeEntry.newBuilder().setWsRow(33).setWsCol(101).setWsXpixel(640).setWsYpixel(480).build();
        Sys.ioctl(p.master, Tty.TIOCSWINSZ, Termios.winsize(ws));
        // queued both ways: the slave wrote "out-data" (unread by the master), the master wrote two lines
        assertEquals(8, Sys.write(p.slave, "out-data".getBytes(), 0, 8));
        assertEquals(8, Sys.write(p.master, "in1\nin2\n".getBytes(), 0, 8));

        // "dump": state, then the queued data (read, as CRIU does), then close the original
        TtyInfoEntry[] info = capture(p);
        byte[] toMaster = drain(p.master, 8);
        byte[] toSlave = drain(p.slave, 8);
        assertEquals("out-data", new String(toMaster));
        assertEquals("in1\nin2\n", new String(toSlave));
        close(p.slave);
        close(p.master);

        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 2, 2);
        long m = s.master(info[0]);
        long a = s.slave(info[1]);
        long b = s.slave(info[1]);
        s.fd(1, 5, m, true).fd(2, 0, a).fd(2, 1, a).fd(2, 2, b);
        s.data(info[0].getId(), toMaster).data(info[1].getId(), toSlave);
        restore(ImageSet.open(s.write(dir)), Map.of());

        assertEquals(p.index, restoredInt(1, 5, Tty.TIOCGPTN), "the image's index");
        assertTermiosEquals(set, restoredTermios(1, 5, Tty.TCGETS), "termios through the master");
        assertTermiosEquals(set, restoredTermios(2, 0, Tty.TCGETS), "termios through a slave");
        assertTermiosEquals(lockedBits, restoredTermios(1, 5, Tty.TIOCGLCKTRMIOS), "locked termios");
        byte[] w = new byte[8];
        table(2).ioctl(0, Tty.TIOCGWINSZ, w);
        assertEquals(ws, Termios.winsize(w));
        assertEquals(0, restoredInt(1, 5, Tty.TIOCGPTLCK), "unlocked, as it was");
        assertEquals(O_RDWR, table(1).fcntl(5, F_GETFL, 0) & (O_ACCMODE | O_NONBLOCK), "the image's flags (no O_NONBLOCK)");
        assertEquals(O_RDWR, table(2).fcntl(2, F_GETFL, 0) & (O_ACCMODE | O_NONBLOCK));
        assertTrue(kernel.sameFile(2, 0, 2, 1), "fds 0 and 1: one slave file");
        assertFalse(kernel.sameFile(2, 0, 2, 2), "fd 2: another open of the slave");
        assertNoTemporaries(1);
        assertNoTemporaries(2);

        assertEquals("out-data", new String(readRestored(1, 5, 8)), "queued for the master's reader");
        assertEquals("in1\n", new String(readRestored(2, 0, 4)), "queued for the slave's reader: line 1, a line alone");
        assertEquals("in2\n", new String(readRestored(2, 2, 4)), "line 2");
        assertEquals(0, readRestored(1, 5, 1).length, "no echo of the replayed input reached the master");
    }

    @Test
    void aLockedPtyIsLockedAgainWithItsSlavesOpenAndPacketModeAndExclusiveAreBack() throws Exception {
        Live p = newPty();
        Sys.ioctl(p.master, Tty.TIOCPKT, Tty.intArg(1));
        Sys.ioctl(p.master, Tty.TIOCEXCL, 0);
        Sys.ioctl(p.master, Tty.TIOCSPTLCK, Tty.intArg(1));
        TtyInfoEntry[] info = capture(p);
        assertTrue(info[0].getLocked() && info[0].getPacketMode() && info[0].getExclusive(), info[0].toString());
        close(p.slave);
        close(p.master);

        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 2, 2);
        s.fd(1, 3, s.master(info[0])).fd(2, 0, s.slave(info[1])).fd(1, 4, s.slave(info[1]));
        restore(ImageSet.open(s.write(dir)), Map.of());

        assertEquals(1, restoredInt(1, 3, Tty.TIOCGPTLCK), "locked again");
        assertEquals(1, restoredInt(1, 3, Tty.TIOCGPKT), "packet mode");
        assertEquals(1, restoredInt(1, 3, Tty.TIOCGEXCL), "exclusive");
        // the slaves restored before the lock work: a byte from slave to master, in packet mode
        table(2).write(0, new byte[] {'z'}, 0, 1);
        byte[] got = readRestored(1, 3, 2);
        assertArrayEquals(new byte[] {0, 'z'}, got, "packet mode: a TIOCPKT_DATA header, then the byte");
        // Last: a refused open marks the slave side TTY_IO_ERROR (the kernel's pty_open), so open slaves get
        // EIO from then on.
        SysException locked = assertThrows(SysException.class,
                () -> Sys.close(Sys.open("/dev/pts/" + p.index, O_RDWR | O_NOCTTY | O_CLOEXEC, 0)));
        assertEquals(Errno.EIO, locked.errno(), "a new open of the slave is refused: the pty is locked");
        assertNoTemporaries(1);
        assertNoTemporaries(2);
    }

    @Test
    void ptyAnyIndexRestoresOnAnotherIndexWhenTheImageIndexIsHeld() throws Exception {
        Live held = newPty(); // the image's index, deliberately kept
        Sys.write(held.slave, "data".getBytes(), 0, 4);
        TtyInfoEntry[] info = capture(held);
        byte[] toMaster = drain(held.master, 4);
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 2, 2);
        s.fd(1, 3, s.master(info[0])).fd(2, 0, s.slave(info[1])).fd(2, 1, s.slave(info[1]));
        s.data(info[0].getId(), toMaster);
        ImageSet images = ImageSet.open(s.write(dir));

        RestoreException x = assertThrows(RestoreException.class, () -> restore(images, Map.of()));
        assertTrue(x.getMessage().contains("pty index " + held.index + " is taken on this host"), x.getMessage());
        assertTrue(x.getMessage().contains("pid " + ProcessHandle.current().pid()), "names this JVM: " + x.getMessage());
        assertNoTemporaries(1);

        restore(images, Map.of(PtyMaster.ANY_INDEX_OPTION, "true"));
        int index = restoredInt(1, 3, Tty.TIOCGPTN);
        assertNotEquals(held.index, index);
        for (int fd = 0; fd < 2; fd++) {
            TaskTable.Stat st = table(2).fstat(fd);
            assertTrue(Tty.isPtySlave(st.rdev()) && Tty.slaveIndex(st.rdev()) == index, "fd " + fd + " is slave " + index);
            assertEquals(Path.of("/dev/pts/" + index),
                    Files.readSymbolicLink(kernel.fd(2, fd)));
        }
        assertEquals("data", new String(readRestored(1, 3, 4)));
        assertNoTemporaries(1);
        assertNoTemporaries(2);
    }

    /** The {@code flags:} line of a restored fd's fdinfo, as an int. */
    private int fdinfoFlags(int pid, int fd) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/task/" + kernel.tid(pid) + "/fdinfo/" + fd))) {
            if (l.startsWith("flags:")) {
                return Integer.parseInt(l.substring(6).trim(), 8);
            }
        }
        throw new AssertionError("no flags line for fd " + fd);
    }

    @Test
    void slavesGotThroughTiocgptpeerComeBackWithoutOLargefileAndPathOpensKeepIt() throws Exception {
        Live p = newPty();
        int peer = Sys.ioctl(p.master, Tty.TIOCGPTPEER, O_RDWR | O_NOCTTY);
        jvmFds.add(peer);
        int original = fdinfoFlagsOfJvm(peer);
        assertEquals(O_RDWR, original, "the kernel gives a TIOCGPTPEER slave no O_LARGEFILE");
        TtyInfoEntry[] info = capture(p);
        close(peer);
        close(p.slave);
        close(p.master);

        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        String path = "/dev/pts/" + p.index;
        long peerRw = s.ttyFile(info[1], path, O_RDWR);
        long peerWo = s.ttyFile(info[1], path, 01 | O_NONBLOCK);
        s.fd(1, 3, s.master(info[0])).fd(1, 4, peerRw).fd(1, 5, s.slave(info[1])).fd(1, 6, peerWo).fd(1, 7, peerRw);
        restore(ImageSet.open(s.write(dir)), Map.of());

        assertEquals(O_RDWR, fdinfoFlags(1, 4), "fd 4: the image's flags, no O_LARGEFILE");
        assertEquals(PtyImageSet.O_RDWR_LARGEFILE, fdinfoFlags(1, 5), "fd 5: opened by path, with O_LARGEFILE as the image says");
        assertEquals(01 | O_NONBLOCK, fdinfoFlags(1, 6), "fd 6: write-only, non-blocking, no O_LARGEFILE");
        for (int fd = 4; fd <= 7; fd++) {
            TaskTable.Stat st = table(1).fstat(fd);
            assertTrue(Tty.isPtySlave(st.rdev()) && Tty.slaveIndex(st.rdev()) == p.index, "fd " + fd + " is slave " + p.index);
        }
        assertTrue(kernel.sameFile(1, 4, 1, 7), "fds 4 and 7: one slave file");
        assertFalse(kernel.sameFile(1, 4, 1, 6), "fds 4 and 6: two opens");
        table(1).write(4, new byte[] {'q'}, 0, 1);
        assertEquals("q", new String(readRestored(1, 3, 1)), "the peer is the restored master's slave");
        assertNoTemporaries(1);
    }

    private static int fdinfoFlagsOfJvm(int fd) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (l.startsWith("flags:")) {
                return Integer.parseInt(l.substring(6).trim(), 8);
            }
        }
        throw new AssertionError("no flags line for fd " + fd);
    }
}
