package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.StrictCheck;
import fdrestore.app.DumpRoundTripTest.Tree;
import fdrestore.testkit.ImageSetText;
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
 * A live process holding a fanotify group (and the other kinds of issues 15 and 16 that need the
 * restored processes: pidfds of live tasks, file locks) is dumped, killed, restored with --hold --verify
 * (each kind's own check of fdinfo), and dumped again: the two image sets are the same after normalising
 * pids and inodes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LiveKindsRoundTripTest {
    private final List<Tree> trees = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void killEverything() {
        trees.forEach(Tree::close);
        RestoredTasks.stop(restored);
    }

    private Tree start(String script) throws Exception {
        Tree t = new Tree(script);
        trees.add(t);
        return t;
    }

    /** Dump, kill, restore --hold --verify, dump again; the restored pids and both canonical texts. */
    private List<String> roundTrip(Tree t, List<Map<Integer, Integer>> pidsOut) throws Exception {
        Path d1 = tmp.resolve("dump1");
        CliRunner r1 = DumpRoundTripTest.dump(t.pid(), d1);
        assertEquals(0, r1.code, r1.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d1), "the first dump passes the strict CRIU check");
        t.close();
        Map<Integer, Integer> pids = CliRunner.restoreDetached(restored, d1, Path.of("/"), "--hold").pids();
        pidsOut.add(pids);
        Path d2 = tmp.resolve("dump2");
        CliRunner r2 = DumpRoundTripTest.dump(pids.values().iterator().next(), d2);
        assertEquals(0, r2.code, r2.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d2), "the second dump passes the strict CRIU check");
        // a pidfd entry is opaque to ImageSetText and holds a pid and an inode: its targets are checked by the test
        String one = String.join("\n", ImageSetText.of(d1)).replaceAll("pidfd: \".*\"", "pidfd: *");
        assertEquals(one, String.join("\n", ImageSetText.of(d2)).replaceAll("pidfd: \".*\"", "pidfd: *"),
                "dump(restore(dump(tree))) differs from dump(tree)");
        return List.of(one);
    }

    @Test
    void aFanotifyGroupWithAMountAndAnInodeMark() throws Exception {
        Path file = tmp.resolve("watched");
        Files.writeString(file, "x");
        Tree t = start(String.join("\n",
                "libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]",
                // FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE, events O_RDONLY | O_LARGEFILE
                "g = libc.fanotify_init(0x12, 0o100000)",
                "assert g >= 0, ctypes.get_errno()",
                // FAN_MARK_ADD | FAN_MARK_MOUNT: FAN_OPEN | FAN_CLOSE_WRITE | FAN_ONDIR; then an ignored FAN_ACCESS
                "assert libc.fanotify_mark(g, 0x11, 0x40000028, -100, b'" + tmp + "') == 0, ctypes.get_errno()",
                "assert libc.fanotify_mark(g, 0x11 | 0x20 | 0x40, 0x1, -100, b'" + tmp + "') == 0, ctypes.get_errno()",
                // FAN_MARK_ADD on the file: FAN_MODIFY | FAN_CLOSE_WRITE
                "assert libc.fanotify_mark(g, 0x1, 0xa, -100, b'" + file + "') == 0, ctypes.get_errno()",
                "ready()"));
        List<Map<Integer, Integer>> pids = new ArrayList<>();
        String text = roundTrip(t, pids).get(0);
        assertTrue(text.contains("FANOTIFY"), text);
        int pid = pids.get(0).values().iterator().next();
        int fd = -1;
        for (Path p : Files.list(Path.of("/proc", Integer.toString(pid), "fd")).toList()) {
            if (Files.readSymbolicLink(p).toString().equals("anon_inode:[fanotify]")) {
                fd = Integer.parseInt(p.getFileName().toString());
            }
        }
        List<String> info = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(fd)));
        assertTrue(info.contains("fanotify flags:12 event-flags:8000"), info.toString());
        assertTrue(info.stream().anyMatch(l -> l.startsWith("fanotify mnt_id:") && l.endsWith("mflags:40 mask:40000028 ignored_mask:1")),
                info.toString());
        long ino = (long) Files.getAttribute(file, "unix:ino");
        assertTrue(info.stream().anyMatch(l -> l.startsWith("fanotify ino:" + Long.toHexString(ino) + " ")
                && l.contains("mask:a ignored_mask:0")), info.toString());
    }

    /**
     * A pidfd of the task itself, one of its child and one of its parent (from the child): each restored
     * pidfd refers to the restored process of its task (fdinfo's Pid), which exists only after the tables.
     */
    @Test
    void pidfdsOfLiveTasksReferToTheirRestoredProcesses() throws Exception {
        Tree t = start(String.join("\n",
                "r, w = os.pipe()",
                "kid = os.fork()",
                "if kid == 0:",
                "    up = os.pidfd_open(os.getppid(), os.O_NONBLOCK)",
                "    os.write(w, b'x')",
                "    time.sleep(1000)",
                "os.read(r, 1)",
                "me = os.pidfd_open(os.getpid())",   // after the fork: a pidfd the child shared would be refused
                "down = os.pidfd_open(kid)",
                "ready()"));
        List<Map<Integer, Integer>> pids = new ArrayList<>();
        String text = roundTrip(t, pids).get(0);
        assertTrue(text.contains("PIDFD"), text);
        List<Integer> real = new ArrayList<>(pids.get(0).values());
        int root = real.get(0);
        int child = real.get(1);
        List<String> refs = new ArrayList<>();
        for (int pid : List.of(root, child)) {
            for (Path p : Files.list(Path.of("/proc", Integer.toString(pid), "fd")).sorted().toList()) {
                if (Files.readSymbolicLink(p).toString().equals("anon_inode:[pidfd]")) {
                    String info = Files.readString(Path.of("/proc", Integer.toString(pid), "fdinfo", p.getFileName().toString()));
                    String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
                    String of = info.lines().filter(l -> l.startsWith("Pid:")).findFirst().orElseThrow().substring(4).strip();
                    refs.add((pid == root ? "root" : "child") + " -> " + (of.equals("" + root) ? "root" : of.equals("" + child)
                            ? "child" : of) + ((Integer.parseInt(flags.substring(6).strip(), 8) & 04000) != 0 ? " nonblock" : ""));
                }
            }
        }
        refs.sort(null);
        assertEquals(List.of("child -> root nonblock", "root -> child", "root -> root"), refs);
    }

    /** filelocks.img of a dump, each lock with its task as its index in pstree order: flag type fd start len. */
    private static List<String> locks(Path dir) throws Exception {
        fdrestore.api.image.ImageSet set = fdrestore.api.image.ImageSet.open(dir);
        List<Integer> order = set.tasks().stream().map(fdrestore.api.image.ImageSet.Task::pid).toList();
        List<String> out = new ArrayList<>();
        for (fdrestore.api.image.proto.FileLockEntry l : set.entries(fdrestore.api.image.codec.Magic.FILE_LOCKS,
                fdrestore.api.image.proto.FileLockEntry.class)) {
            out.add("task" + order.indexOf(l.getPid()) + " flag " + l.getFlag() + " type " + l.getType() + " fd " + l.getFd()
                    + " " + l.getStart() + "+" + l.getLen());
        }
        out.sort(null);
        return out;
    }

    /**
     * A POSIX lock (a range), a flock taken by the child on a description it shares with its parent, an
     * OFD lock and a read lease: the dump writes them to filelocks.img (each on the fd of the process that
     * holds it), the restored processes take them again, and a second dump records the same locks.
     */
    @Test
    void fileLocksAndLeasesAreDumpedAndTakenAgain() throws Exception {
        Path a = tmp.resolve("posix");
        Path b = tmp.resolve("flock");
        Path c = tmp.resolve("ofd");
        Path d = tmp.resolve("lease");
        for (Path p : List.of(a, b, c, d)) {
            Files.writeString(p, "0123456789");
        }
        Tree t = start(String.join("\n",
                "import struct",
                "fa = os.open('" + a + "', os.O_RDWR)",
                "fcntl.lockf(fa, fcntl.LOCK_EX | fcntl.LOCK_NB, 4, 2)",
                "fb = os.open('" + b + "', os.O_RDWR)",
                "fc = os.open('" + c + "', os.O_RDWR)",
                // struct flock: type, whence, start, len, pid (F_OFD_SETLK 37, F_RDLCK 0)
                "fcntl.fcntl(fc, 37, struct.pack('hhqqi', 0, 0, 0, 0, 0))",
                "fd_ = os.open('" + d + "', os.O_RDONLY)",
                "fcntl.fcntl(fd_, 1024, 0)",   // F_SETLEASE F_RDLCK
                "r, w = os.pipe()",
                "if os.fork() == 0:",
                "    fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                "    os.write(w, b'x')",
                "    time.sleep(1000)",
                "os.read(r, 1)",
                "ready()"));
        Path d1 = tmp.resolve("dump1");
        CliRunner r1 = DumpRoundTripTest.dump(t.pid(), d1);
        assertEquals(0, r1.code, r1.toString());
        List<String> before = locks(d1);
        assertEquals(List.of("task0 flag 1 type 1 fd 3 2+4", "task0 flag 4 type 0 fd 5 0+0", "task0 flag 8 type 0 fd 6 0+0",
                "task1 flag 2 type 1 fd 4 0+0"), before, "POSIX on fa, OFD on fc, lease on fd_, the child's flock on fb");
        t.close();
        Map<Integer, Integer> pids = CliRunner.restoreDetached(restored, d1, Path.of("/"), "--hold").pids();
        String procLocks = Files.readString(Path.of("/proc/locks"));
        for (int pid : pids.values()) {
            assertTrue(procLocks.contains(" " + pid + " "), "restored pid " + pid + " holds a lock: " + procLocks);
        }
        Path d2 = tmp.resolve("dump2");
        CliRunner r2 = DumpRoundTripTest.dump(pids.values().iterator().next(), d2);
        assertEquals(0, r2.code, r2.toString());
        assertEquals(before, locks(d2), "the restored tree holds the same locks");
    }
}
