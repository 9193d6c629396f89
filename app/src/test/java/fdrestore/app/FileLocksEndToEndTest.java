package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.ImageSetBuilder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * File locks and leases (filelocks.img) and owners of the tree (F_SETOWN) through the command line, on
 * real processes: each lock is taken by the restored process that held it (its pid in the fdinfo
 * {@code lock:} line; a POSIX lock survives the executor tables being dropped), and an owner that is
 * another task of the tree is that task's real pid. A lock that conflicts fails the restore, naming it.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileLocksEndToEndTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final int ROOT = 100;
    private static final int CHILD = 101;

    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private static FileLockEntry lock(int flag, int type, int pid, int fd, long start, long len) {
        return FileLockEntry.newBuilder().setFlag(flag).setType(type).setPid(pid).setFd(fd).setStart(start).setLen(len)
                .build();
    }

    /**
     * Images of two tasks: fd 3 (/data/a, shared) with a POSIX write lock of the root on bytes 0-9; the
     * child's fd 4 (/data/b) with its flock; the root's fd 5 (/data/c, O_RDONLY) with a read lease; the
     * root's fd 6 (/data/d) with an OFD read lock from byte 5; the root's fd 7 (/data/e) owned by the child.
     */
    private static Path images(Path tmp, Path root) throws Exception {
        Files.createDirectories(root.resolve("data"));
        for (String f : List.of("a", "b", "c", "d", "e")) {
            Files.write(root.resolve("data/" + f), new byte[64]);
        }
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(ROOT, 0).task(CHILD, ROOT);
        int rw = Linux.O_RDWR | Linux.O_LARGEFILE;
        long a = b.regularFile("/data/a", rw, 0);
        long fb = b.regularFile("/data/b", rw, 0);
        // F_SETLEASE adds O_ASYNC to f_flags, and makes the taker the owner: criu records both
        long c = b.regularFile("/data/c", Linux.O_RDONLY | Linux.O_LARGEFILE | 020000, 0);
        long d = b.regularFile("/data/d", rw, 0);
        long e = b.regularFile("/data/e", rw, 0);
        b.fd(ROOT, 3, a).fd(CHILD, 3, a).fd(CHILD, 4, fb).fd(ROOT, 5, c).fd(ROOT, 6, d).fd(ROOT, 7, e);
        Path dir = b.write(tmp.resolve("images"));
        Path files = dir.resolve(Magic.FILES.fileName());
        List<ImageEntry> fe = new ArrayList<>();
        for (ImageEntry x : ImageReader.read(files, Magic.FILES).entries()) {
            FileEntry f = (FileEntry) x.message();
            int owner = f.getId() == c ? ROOT : f.getId() == e ? CHILD : 0;
            if (owner != 0) {
                FownEntry fown = f.getReg().getFown().toBuilder().setPidType(1).setPid(owner).build();
                f = f.toBuilder().setReg(f.getReg().toBuilder().setFown(fown)).build();
            }
            fe.add(ImageEntry.of(f));
        }
        ImageWriter.write(new ImageFile(Magic.FILES, fe), files);
        ImageWriter.write(new ImageFile(Magic.FILE_LOCKS, List.of(
                ImageEntry.of(lock(1, 1, ROOT, 3, 0, 10)),
                ImageEntry.of(lock(2, 1, CHILD, 4, 0, 0)),
                ImageEntry.of(lock(8, 0, ROOT, 5, 0, 0)),
                ImageEntry.of(lock(4, 0, ROOT, 6, 5, 0)))), dir.resolve(Magic.FILE_LOCKS.fileName()));
        return dir;
    }

    /** The fdinfo {@code lock:} line of fd {@code fd} of {@code pid}, whitespace collapsed, or "" when none. */
    private static String lockLine(int pid, int fd) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/fdinfo/" + fd))) {
            if (l.startsWith("lock:")) {
                return l.replaceAll("\\s+", " ").trim();
            }
        }
        return "";
    }

    private static int owner(int pid, int fd) throws SysException {
        int pidfd = Sys.pidfdOpen(pid, 0);
        try {
            int copy = Sys.pidfdGetfd(pidfd, fd);
            try {
                return (int) Sys.fcntl(copy, Linux.F_GETOWN, 0);
            } finally {
                Sys.close(copy);
            }
        } finally {
            Sys.close(pidfd);
        }
    }

    private static void assertLock(String regex, String line) {
        assertTrue(Pattern.matches(regex, line), "lock line '" + line + "' does not match " + regex);
    }

    @Test
    void locksAreTakenByTheirTasksAndOwnersOfTheTreeAreTheirRealPids(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("root");
        Path images = images(tmp, root);
        Map<Integer, Integer> pids = assertTimeoutPreemptively(LIMIT,
                () -> CliRunner.restoreDetached(started, images, root)).pids();
        int r = pids.get(ROOT);
        int ch = pids.get(CHILD);
        // the restore is over: the executor tables are gone, the POSIX lock is the process's own
        assertLock("lock: \\d+: POSIX ADVISORY WRITE " + r + " \\S+ 0 9", lockLine(r, 3));
        assertEquals("", lockLine(ch, 3), "a POSIX lock shows on its owner's fd only");
        assertLock("lock: \\d+: FLOCK ADVISORY WRITE " + ch + " \\S+ 0 EOF", lockLine(ch, 4));
        assertLock("lock: \\d+: LEASE ACTIVE READ " + r + " \\S+ 0 EOF", lockLine(r, 5));
        assertLock("lock: \\d+: OFDLCK ADVISORY READ -1 \\S+ 5 EOF", lockLine(r, 6));
        assertEquals(r, owner(r, 5), "the lease's owner");
        assertEquals(ch, owner(r, 7), "an owner that is another task of the tree is its real pid");
    }

    @Test
    void aLockHeldOutsideFailsTheRestoreNamingItAndLeavesNothing(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("root");
        Path images = images(tmp, root);
        Set<Long> before = Set.copyOf(HardeningSupport.children());
        try (FileChannel ch = FileChannel.open(root.resolve("data/a"), StandardOpenOption.WRITE);
                FileLock held = ch.lock(0, 10, false)) {
            CliRunner res = assertTimeoutPreemptively(LIMIT,
                    () -> CliRunner.run("restore", "--root", root.toString(), "--detach", images.toString()));
            assertEquals(1, res.code, res.toString());
            assertTrue(res.err.contains("task " + ROOT) && res.err.contains("file lock") && res.err.contains("EAGAIN"),
                    res.err);
            assertEquals(before, Set.copyOf(HardeningSupport.children()), "no process is left");
        }
    }
}
