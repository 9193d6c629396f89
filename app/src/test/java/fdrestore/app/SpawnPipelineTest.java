package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.testkit.ImageSetBuilder;
import java.io.IOException;
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
 * The spawn phase is pipelined: a holder gets the fork commands of many children at once, and every
 * holder that is up builds its own children at the same time. These tests restore a wide tree (one parent
 * with 150 children, grandchildren and a great-grandchild, groups joined across branches, a second
 * session) and check every task's parent, group and session; and they fail a restore in the middle of a
 * batch and check that it names the task and leaves no process behind.
 */
class SpawnPipelineTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final int ROOT = 7100;
    private static final int CHILDREN = 150;

    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    /** A task of the tree: image pid, parent, group, session. */
    private record T(int pid, int ppid, int pgid, int sid) {
    }

    /**
     * The tree: root 7100 leads session and group 7100; children 7101..7250. 7101 leads group 7101 and
     * 7110..7119 join it; 7120 leads session 7120. Grandchildren: 7301, 7302 under 7101 (its group); 7303
     * under 7105 joins group 7101 (another branch), 7304 under 7105 leads its own group; 7305, 7306 under
     * 7120 (its session, 7306 leads a group); great-grandchild 7401 under 7303 joins its uncle 7304's group.
     * With {@code badJoin}, child 7130 (session 7100) claims group 7120, of another session: its setpgid
     * fails in the holder's child.
     */
    private static List<T> tree(boolean badJoin) {
        List<T> ts = new ArrayList<>();
        ts.add(new T(ROOT, 0, ROOT, ROOT));
        for (int i = 1; i <= CHILDREN; i++) {
            int pid = ROOT + i;
            int pgid = ROOT;
            int sid = ROOT;
            if (pid == 7101) {
                pgid = 7101;
            } else if (pid >= 7110 && pid <= 7119) {
                pgid = 7101;
            } else if (pid == 7120) {
                pgid = 7120;
                sid = 7120;
            } else if (pid == 7130 && badJoin) {
                pgid = 7120;
            }
            ts.add(new T(pid, ROOT, pgid, sid));
        }
        ts.add(new T(7301, 7101, 7101, ROOT));
        ts.add(new T(7302, 7101, 7101, ROOT));
        ts.add(new T(7303, 7105, 7101, ROOT));
        ts.add(new T(7304, 7105, 7304, ROOT));
        ts.add(new T(7305, 7120, 7120, 7120));
        ts.add(new T(7306, 7120, 7306, 7120));
        ts.add(new T(7401, 7303, 7304, ROOT));
        return ts;
    }

    /** Writes the image set: /dev/null on 0-2 (restored with --root /), and a pipe per task (read end at 3, write end at 4, bytes queued). */
    private static Path images(List<T> ts, Path dir) throws IOException {
        ImageSetBuilder b = new ImageSetBuilder();
        for (T t : ts) {
            b.task(t.pid, t.ppid, t.pgid, t.sid);
        }
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        for (T t : ts) {
            long[] p = b.pipe(ImageSetBuilder.bytes("task " + t.pid));
            b.fd(t.pid, 0, devnull).fd(t.pid, 1, devnull).fd(t.pid, 2, devnull).fd(t.pid, 3, p[0]).fd(t.pid, 4, p[1]);
        }
        return b.write(dir);
    }

    @Test
    void wideTreeComesUpWithEveryParentGroupAndSession(@TempDir Path tmp) {
        assertTimeoutPreemptively(LIMIT, () -> {
            List<T> ts = tree(false);
            Path images = images(ts, tmp.resolve("images"));
            Path root = Path.of("/"); // the only file is /dev/null
            Map<Integer, Integer> pids = CliRunner.restoreDetached(started, images, root).pids();
            assertEquals(ts.size(), pids.size(), pids.toString());
            for (T t : ts) {
                int pid = pids.get(t.pid);
                String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
                String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
                if (t.ppid != 0) {
                    assertEquals((int) pids.get(t.ppid), Integer.parseInt(f[1]), "parent of task " + t.pid);
                }
                assertEquals((int) pids.get(t.pgid), Integer.parseInt(f[2]), "process group of task " + t.pid);
                assertEquals((int) pids.get(t.sid), Integer.parseInt(f[3]), "session of task " + t.pid);
                assertEquals("task-" + t.pid, Files.readString(Path.of("/proc/" + pid + "/comm")).strip(),
                        "comm of task " + t.pid);
            }
        });
    }

    @Test
    void holderKilledInTheMiddleOfABatchNamesTheTaskAndLeavesNothing(@TempDir Path tmp) {
        assertTimeoutPreemptively(LIMIT, () -> {
            List<T> ts = tree(false);
            Path images = images(ts, tmp.resolve("images"));
            Path root = Path.of("/"); // the only file is /dev/null
            long kids = children();
            // 7105 (the 5th of 150 children) is killed as soon as it is up: its siblings are still coming.
            // The fork commands of its children 7303 and 7304 were queued when it was forked: either they
            // meet a dead holder, or it built them and dies before it is released. Either way its death
            // is named.
            CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--detach", "--inject-fault",
                    "spawn:1@7105", images.toString());
            assertEquals(1, r.code, r.toString());
            assertTrue(r.err.matches("(?s).*(task 730[34]: the holder of task 7105 \\(pid \\d+\\) died"
                    + "|task 7105: its holder \\(pid \\d+\\) did not finish building \\(it died\\)).*"), r.err);
            assertTrue(r.err.contains("nothing was left behind"), r.err);
            assertFalse(r.err.contains("\tat "), r.err);
            assertNothingLeft(ts, kids);
        });
    }

    @Test
    void childFailingToJoinItsGroupInTheMiddleOfABatchNamesTheTaskAndLeavesNothing(@TempDir Path tmp) {
        assertTimeoutPreemptively(LIMIT, () -> {
            List<T> ts = tree(true);
            Path images = images(ts, tmp.resolve("images"));
            Path root = Path.of("/"); // the only file is /dev/null
            long kids = children();
            CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--detach", images.toString());
            assertEquals(1, r.code, r.toString());
            assertTrue(r.err.matches("(?s).*task 7130: its process \\(pid \\d+\\) could not take its fds: "
                    + "setsid/setpgid failed: EPERM.*"), r.err);
            assertFalse(r.err.contains("\tat "), r.err);
            assertNothingLeft(ts, kids);
        });
    }

    /**
     * A chain 400 tasks deep: each task is built by its parent's holder, which goes on as the new task's
     * holder without an exec. Whatever the depth, no level may keep the frames of the levels above it.
     */
    @Test
    void aChainOf400TasksIsRestoredAndVerified(@TempDir Path tmp) {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path set = tmp.resolve("chain");
            CliRunner w = CliRunner.run("bench", "--generate", "400x3:shape=chain", "--out", set.toString());
            assertEquals(0, w.code, w.toString());
            long kids = children();
            CliRunner r = CliRunner.run("restore", "--root", set.resolve("root").toString(), "--verify", "--then=kill",
                    set.resolve("images").toString());
            assertEquals(0, r.code, r.toString());
            assertTrue(r.out.contains("Verified: the 1200 fds of the 400 tasks match the images"), r.out);
            assertEquals(kids, children(), "--then=kill stopped them all");
        });
    }

    private static long children() {
        return ProcessHandle.current().children().count();
    }

    /**
     * No child of the JVM is left, and no process of the tree anywhere: none named like a task of the
     * images, and no holder (before it names itself) that is ours or an orphan.
     */
    private static void assertNothingLeft(List<T> ts, long kids) throws Exception {
        List<String> comms = new ArrayList<>();
        ts.forEach(t -> comms.add("task-" + t.pid));
        long self = ProcessHandle.current().pid();
        Map<Long, String> left = new LinkedHashMap<>();
        long deadline = System.nanoTime() + 5_000_000_000L;
        do {
            left.clear();
            try (Stream<Path> s = Files.list(Path.of("/proc"))) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    String name = p.getFileName().toString();
                    if (!name.chars().allMatch(Character::isDigit)) {
                        continue;
                    }
                    try {
                        String st = Files.readString(p.resolve("stat"));
                        String comm = st.substring(st.indexOf('(') + 1, st.lastIndexOf(')'));
                        String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
                        long ppid = Long.parseLong(f[1]);
                        if (comms.contains(comm) || comm.equals("fdrestore-holde") && (ppid == self || ppid == 1)
                                || ppid == self && !f[0].equals("Z") && !comm.startsWith("java")) {
                            left.put(Long.parseLong(name), comm + " state " + f[0] + " ppid " + ppid);
                        }
                    } catch (IOException | RuntimeException gone) {
                        // ended while listing
                    }
                }
            }
            if (left.isEmpty() && children() == kids) {
                break;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        assertEquals(Map.of(), left, "processes left behind");
        assertEquals(kids, children(), "no child process remains");
    }
}
