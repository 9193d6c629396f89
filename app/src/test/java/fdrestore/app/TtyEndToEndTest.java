package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TermiosEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.TtyPtyEntry;
import fdrestore.api.image.proto.WinsizeEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.json.Json;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ptys restored through the command line. criu 4.2's v_pty sample (a pty master in the root, its slave the
 * controlling terminal of a child session leader on fds 0-2, 9 bytes unread in the master): the fd tables
 * against expected.norm, the child's controlling terminal and foreground group through /proc/PID/stat, the
 * queued bytes through a copy of the restored master (pidfd_getfd); the same with index 0 held by this
 * test (an error naming the holder, then {@code -o pty-any-index=true}: --verify passes, as it does not
 * compare tty paths, while the paths and tty_nr show the new index). And a session whose foreground job is
 * another process of the session: both see the terminal as their controlling terminal.
 */
class TtyEndToEndTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final int ROOT = 6197;
    private static final int CHILD = 6199;
    private static final int PTS0 = 136 << 8; // tty_nr of /dev/pts/0 (new_encode_dev(136:0))

    private final List<Integer> started = new ArrayList<>();

    static boolean ptyZeroIsFree() {
        return !Files.exists(Path.of("/dev/pts/0"));
    }

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private Map<Integer, Integer> restore(Path images, Path root, String... extra) {
        return assertTimeoutPreemptively(LIMIT, () -> CliRunner.restoreDetached(started, images, root, extra)).pids();
    }

    /** Fields 3.. of /proc/PID/stat after the command name: [state, ppid, pgrp, session, tty_nr, tpgid]. */
    static String[] stat(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        return s.substring(s.lastIndexOf(')') + 2).split(" ");
    }

    static int ttyNr(int pid) throws IOException {
        return Integer.parseInt(stat(pid)[4]);
    }

    static int tpgid(int pid) throws IOException {
        return Integer.parseInt(stat(pid)[5]);
    }

    /** A copy of fd {@code fd} of process {@code pid} in this JVM (pidfd_getfd: the same open file). */
    static int grab(int pid, int fd) throws SysException {
        int pidfd = Sys.pidfdOpen(pid, 0);
        try {
            return Sys.pidfdGetfd(pidfd, fd);
        } finally {
            Sys.close(pidfd);
        }
    }

    /**
     * Reads what a tty holds, without blocking: O_NONBLOCK is set on the (shared) description for the time
     * of the reads. A read of an empty tty flushes the tty's buffer before answering EAGAIN, so EAGAIN
     * means empty.
     */
    static byte[] readAvailable(int fd) throws SysException {
        long flags = Sys.fcntl(fd, Linux.F_GETFL, 0);
        Sys.fcntl(fd, Linux.F_SETFL, flags | Linux.O_NONBLOCK);
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            for (;;) {
                int k = Sys.read(fd, buf, 0, buf.length);
                if (k <= 0) {
                    return out.toByteArray();
                }
                out.write(buf, 0, k);
            }
        } finally {
            Sys.fcntl(fd, Linux.F_SETFL, flags);
        }
    }

    private static int ptyCount() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/dev/pts"))) {
            return (int) s.filter(p -> !p.getFileName().toString().equals("ptmx")).count();
        }
    }

    @Test
    @EnabledIf(value = "ptyZeroIsFree", disabledReason = "pty index 0 (the sample's /dev/pts/0) is in use on this host")
    void vPtyRestoresWithItsControllingTerminalAndQueuedData(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("v_pty");
        Path root = Samples.prepareRoot("v_pty", tmp.resolve("root"));
        int ptysBefore = ptyCount();

        Map<Integer, Integer> pids = restore(images, root);

        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        for (int imagePid : expected.keySet()) {
            ordered.put(imagePid, pids.get(imagePid));
        }
        assertEquals("", FdSnapshot.diff(expected, FdSnapshot.take(ordered, root)), "restored fd tables differ from expected.norm");

        int child = pids.get(CHILD);
        assertEquals(PTS0, ttyNr(child), "the child's controlling terminal is /dev/pts/0");
        assertEquals(child, tpgid(child), "the child's group is the foreground group of its terminal");
        assertEquals(0, ttyNr(pids.get(ROOT)), "the root has no controlling terminal");
        assertEquals(ptysBefore + 1, ptyCount(), "exactly one pty was created (the spare opens were closed)");

        int master = grab(pids.get(ROOT), 7);
        try {
            assertArrayEquals("v_pty-out".getBytes(), readAvailable(master), "the bytes the child wrote, unread by the master");
        } finally {
            Sys.close(master);
        }
    }

    @Test
    @EnabledIf(value = "ptyZeroIsFree", disabledReason = "pty index 0 (the sample's /dev/pts/0) is in use on this host")
    void takenIndexFailsNamingTheHolderThenPtyAnyIndexRestoresOnAnotherOne(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("v_pty");
        Path root = Samples.prepareRoot("v_pty", tmp.resolve("root"));
        int held = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        try {
            byte[] idx = new byte[4];
            Sys.ioctl(held, 0x80045430L /* TIOCGPTN */, idx);
            assertEquals(0, idx[0], "this test holds index 0");

            List<String> args = List.of("restore", "--root", root.toString(), "--detach", images.toString());
            CliRunner bad = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run(args.toArray(new String[0])));
            assertEquals(1, bad.code, bad.toString());
            assertTrue(bad.err.contains("pty index 0 is taken on this host"), bad.err);
            assertTrue(bad.err.contains("pid " + ProcessHandle.current().pid()), "names this JVM as the holder: " + bad.err);
            assertTrue(bad.err.contains("pty-any-index"), bad.err);

            Map<Integer, Integer> pids = restore(images, root, "--pty-any-index");
            int child = pids.get(CHILD);
            Path link = Files.readSymbolicLink(Path.of("/proc", Integer.toString(child), "fd", "0"));
            assertTrue(link.toString().startsWith("/dev/pts/") && !link.toString().equals("/dev/pts/0"), link.toString());
            int newIndex = Integer.parseInt(link.getFileName().toString());
            for (int fd = 0; fd < 3; fd++) {
                assertEquals(link, Files.readSymbolicLink(Path.of("/proc", Integer.toString(child), "fd", Integer.toString(fd))));
            }
            int master = grab(pids.get(ROOT), 7);
            try {
                Sys.ioctl(master, 0x80045430L, idx);
                assertEquals(newIndex, (idx[0] & 255) | (idx[1] & 255) << 8, "the master is the slave's pty");
                assertArrayEquals("v_pty-out".getBytes(), readAvailable(master));
            } finally {
                Sys.close(master);
            }
            assertEquals((136 + newIndex / 256) << 8 | newIndex % 256, ttyNr(child), "the ctty follows the new index");
            assertEquals(child, tpgid(child));
        } finally {
            Sys.close(held);
        }
    }
    // ---- a session with a member: images built here from a live pty's defaults ----------------------------

    private static final int TIOCGPTN = 0x80045430;

    /** CRIU's TermiosEntry of the kernel struct {@code raw} (c_cc packed four bytes a word, as criu writes it). */
    private static TermiosEntry termiosEntry(byte[] raw) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        TermiosEntry.Builder e = TermiosEntry.newBuilder().setCIflag(b.getInt()).setCOflag(b.getInt())
                .setCCflag(b.getInt()).setCLflag(b.getInt()).setCLine(b.get() & 255).setCIspeed(0).setCOspeed(0);
        byte[] cc = new byte[20];
        b.get(cc, 0, 19);
        for (int w = 0; w < 19; w++) {
            int v = 0;
            for (int k = 0; k < 4 && w * 4 + k < 20; k++) {
                v |= (cc[w * 4 + k] & 255) << (8 * k);
            }
            e.addCCc(w < 5 ? v : 0);
        }
        return e.build();
    }

    private static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /**
     * Adds a pty (index {@code index}, session {@code sid}, foreground group {@code pgrp}) to an image set
     * written by {@link ImageSetBuilder}: a master file and one slave file, their tty-info entries, and
     * fds {@code masterFds} / {@code slaveFds} as {pid, fd} pairs.
     */
    private static void addPty(Path images, int index, int sid, int pgrp, int[][] masterFds, int[][] slaveFds)
            throws Exception {
        int m = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        byte[] raw = new byte[36];
        try {
            Sys.ioctl(m, 0x5401 /* TCGETS */, raw);
        } finally {
            Sys.close(m);
        }
        TermiosEntry termios = termiosEntry(raw);
        TermiosEntry zero = termiosEntry(new byte[36]);
        List<ImageEntry> files = new ArrayList<>(ImageReader.read(images.resolve("files.img"), Magic.FILES).entries());
        List<ImageEntry> infos = new ArrayList<>();
        for (int side = 0; side < 2; side++) {
            boolean master = side == 0;
            int infoId = index * 2 + (master ? 1 : 0);
            infos.add(ImageEntry.of(TtyInfoEntry.newBuilder().setId(infoId).setType(1).setLocked(false)
                    .setExclusive(false).setPacketMode(false).setSid(sid).setPgrp(pgrp)
                    .setRdev(master ? 0x502 : (136 + index / 256) << 8 | index % 256).setTermios(termios)
                    .setTermiosLocked(zero).setWinsize(WinsizeEntry.newBuilder().setWsRow(24).setWsCol(80)
                            .setWsXpixel(0).setWsYpixel(0)).setPty(TtyPtyEntry.newBuilder().setIndex(index)).build()));
            int reg = 9000 + side * 2;
            int id = reg + 1;
            String path = master ? "/dev/ptmx" : "/dev/pts/" + index;
            files.add(ImageEntry.of(FileEntry.newBuilder().setType(1).setId(reg).setReg(RegFileEntry.newBuilder()
                    .setId(reg).setFlags(0100002).setPos(0).setFown(fown()).setName(path).setMode(020620)).build()));
            files.add(ImageEntry.of(FileEntry.newBuilder().setType(11).setId(id).setTty(TtyFileEntry.newBuilder()
                    .setId(id).setTtyInfoId(infoId).setFlags(0100002).setFown(fown()).setRegfId(reg)).build()));
            for (int[] pf : master ? masterFds : slaveFds) {
                Path fi = images.resolve(Magic.FDINFO.fileName(pf[0]));
                List<ImageEntry> l = new ArrayList<>(ImageReader.read(fi, Magic.FDINFO).entries());
                l.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(id).setFlags(master ? 1 : 0).setType(11).setFd(pf[1]).build()));
                ImageWriter.write(new ImageFile(Magic.FDINFO, l), fi);
            }
        }
        ImageWriter.write(new ImageFile(Magic.FILES, files), images.resolve("files.img"));
        ImageWriter.write(new ImageFile(Magic.TTY_INFO, infos), images.resolve(Magic.TTY_INFO.fileName()));
    }

    /** The index the host would give the next pty (it may change before use; the restore reports that). */
    private static int nextFreeIndex() throws SysException {
        int m = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        try {
            byte[] idx = new byte[4];
            Sys.ioctl(m, TIOCGPTN, idx);
            return (idx[0] & 255) | (idx[1] & 255) << 8;
        } finally {
            Sys.close(m);
        }
    }

    @Test
    void aSessionLeaderAndAMemberInTheForegroundShareTheControllingTerminal(@TempDir Path tmp) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(100, 0, 100, 100);
        b.task(101, 100, 101, 100); // same session, its own group: the foreground job
        Path images = b.write(tmp.resolve("images"));
        int index = nextFreeIndex();
        addPty(images, index, 100, 101, new int[][] {{100, 3}}, new int[][] {{100, 0}, {101, 0}});

        Map<Integer, Integer> pids = restore(images, Files.createDirectories(tmp.resolve("root")));
        int leader = pids.get(100);
        int member = pids.get(101);
        int pts = (136 + index / 256) << 8 | index % 256;
        assertEquals(pts, ttyNr(leader), "the leader's controlling terminal");
        assertEquals(member, tpgid(leader), "the member's group is the foreground group");
        assertEquals(leader, Integer.parseInt(stat(member)[3]), "the member is in the leader's session");
        assertEquals(pts, ttyNr(member), "the member sees the same controlling terminal");
        assertEquals(member, tpgid(member));
    }
}
