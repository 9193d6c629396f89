package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.app.DumpRoundTripTest.Tree;
import fdrestore.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code fdrestore dump} through the command line: reports, bad input and faults, and --freeze. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DumpCommandTest {
    private final List<Tree> trees = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void killTrees() {
        trees.forEach(Tree::close);
    }

    private Tree start(String script) throws IOException {
        Tree t = new Tree(script);
        trees.add(t);
        return t;
    }

    private static char state(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return s.charAt(s.lastIndexOf(')') + 2);
    }

    private void assertNothingWritten(Path dir) throws IOException {
        assertFalse(Files.exists(dir), dir + " must not exist after a failed dump");
        try (Stream<Path> s = Files.list(dir.getParent())) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".dump-")), "no temporary directory left");
        }
    }

    @Test
    void textReportNamesTasksAndKinds() throws Exception {
        Tree t = start("r, w = os.pipe()\nready()");
        CliRunner r = CliRunner.run("dump", "-t", Integer.toString(t.pid()), "-D", tmp.resolve("out").toString());
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.startsWith("Dumped 1 task ("), r.out);
        assertTrue(r.out.contains("Open files by kind: pipe 3, regular 2"), r.out);
        CliRunner show = CliRunner.run("show", tmp.resolve("out").toString());
        assertEquals(0, show.code, show.toString());
        assertTrue(show.out.contains("task " + t.pid() + " (python3)"), show.out);
    }

    @Test
    void aPidThatDoesNotExist() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Path dir = tmp.resolve("out");
        CliRunner r = CliRunner.run("dump", "-t", Long.toString(p.pid()), "-D", dir.toString());
        assertEquals(Cli.EXIT_FAILED, r.code, r.toString());
        assertEquals("fdrestore: dump of " + p.pid() + " failed, nothing was written: no process " + p.pid()
                + " (there is no /proc/" + p.pid() + ")\n", r.err);
        assertNothingWritten(dir);
    }

    @Test
    void aNonEmptyDirectoryIsBadUsage() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(dir.resolve("x"), "x");
        CliRunner r = CliRunner.run("dump", "-t", "1", "-D", dir.toString());
        assertEquals(Cli.EXIT_USAGE, r.code, r.toString());
        assertTrue(r.err.contains("exists and is not empty"), r.err);
    }

    static final String INOTIFY = "i = libc.inotify_init1(0)\nready(str(i))";

    @Test
    @SuppressWarnings("unchecked")
    void aKindNoPluginDumpsFailsUnlessSkippedAndTheSkipIsReported() throws Exception {
        Tree t = start(INOTIFY);
        int fd = Integer.parseInt(t.ready.split(" ")[1]);
        Path dir = tmp.resolve("out");
        CliRunner r = DumpRoundTripTest.dump(t.pid(), dir, "--freeze");
        assertEquals(Cli.EXIT_FAILED, r.code, r.toString());
        assertTrue(r.err.contains("task " + t.pid() + " fd " + fd + " (anon_inode:inotify): no plugin dumps inotify files"),
                r.err);
        assertTrue(r.err.contains("--skip-unknown"), r.err);
        assertNothingWritten(dir);
        assertNotEquals('T', state(t.pid()), "a failed dump resumes the tree");

        CliRunner ok = DumpRoundTripTest.dump(t.pid(), dir, "--skip-unknown", "--freeze");
        assertEquals(0, ok.code, ok.toString());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(ok.out);
        List<Object> skipped = (List<Object>) doc.get("skipped");
        assertEquals(1, skipped.size(), ok.out);
        Map<String, Object> s = (Map<String, Object>) skipped.get(0);
        assertEquals(fd, ((Number) s.get("fd")).intValue());
        assertEquals("anon_inode:inotify", s.get("link"));
        assertEquals(List.of(t.pid()), ((List<Object>) doc.get("resumed")).stream().map(x -> ((Number) x).intValue()).toList());
        assertNotEquals('T', state(t.pid()), "a dump never leaves the tree stopped");
        assertTrue(ImageSet.open(dir).root().fds().stream().noneMatch(f -> f.fd() == fd));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aSynSentConnectionIsUnsupportedUnlessSkippedAndAnEstablishedOneIsDumped() throws Exception {
        // Backlog 0: the first connection waits in the accept queue, the second one's SYN is dropped (syn-sent).
        Tree t = start(String.join("\n",
                "s = socket.socket()",
                "s.bind(('127.0.0.1', 0))",
                "s.listen(0)",
                "c = socket.create_connection(s.getsockname())",
                "time.sleep(0.1)",
                "w = socket.socket()",
                "w.setblocking(False)",
                "w.connect_ex(s.getsockname())",
                "ready()"));
        Path dir = tmp.resolve("out");
        CliRunner r = DumpRoundTripTest.dump(t.pid(), dir);
        assertEquals(Cli.EXIT_FAILED, r.code, r.toString());
        assertTrue(r.err.contains("TCP state syn-sent cannot be dumped"), r.err);
        assertNothingWritten(dir);

        CliRunner ok = DumpRoundTripTest.dump(t.pid(), dir, "--skip-unknown");
        assertEquals(0, ok.code, ok.toString());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(ok.out);
        assertEquals(1, ((List<Object>) doc.get("skipped")).size(), ok.out);
        ImageSet set = ImageSet.open(dir);
        List<fdrestore.api.image.proto.InetSkEntry> isks = set.files().values().stream().filter(f -> f.hasIsk())
                .map(f -> f.getIsk()).toList();
        assertEquals(2, isks.size(), "the listener and the established connection are dumped");
        long ino = isks.stream().filter(e -> e.getState() == 1).findFirst().orElseThrow().getIno() & 0xffffffffL;
        assertTrue(java.nio.file.Files.exists(dir.resolve(String.format("tcp-stream-%x.img", ino))),
                "criu's hex name for inode " + ino);
    }

    @Test
    void closingTheLastFdOfATargetEndsItsRegistration() throws Exception {
        Tree t = start(String.join("\n",
                "r, w = os.pipe()",
                "ep = select.epoll()",
                "ep.register(r, select.EPOLLIN)",
                "ep.register(w, select.EPOLLOUT)",
                "os.close(r)",
                "ready()"));
        Path dir = tmp.resolve("out");
        CliRunner r = DumpRoundTripTest.dump(t.pid(), dir);
        assertEquals(0, r.code, r.toString());
        List<Integer> tfds = ImageSet.open(dir).files().values().stream().filter(f -> f.hasEpfd())
                .flatMap(f -> f.getEpfd().getTfdList().stream()).map(x -> x.getTfd()).toList();
        assertEquals(1, tfds.size(), "only the write end is still watched: " + tfds);
    }

    @Test
    void anEpollTargetStillOpenElsewhereButClosedInTheTaskIsUnsupported() throws Exception {
        Tree t = start(String.join("\n",
                "r, w = os.pipe()",
                "keep = os.dup(r)",
                "ep = select.epoll()",
                "ep.register(r, select.EPOLLIN)",
                "os.close(r)",
                "ready(str(r))"));
        int r0 = Integer.parseInt(t.ready.split(" ")[1]);
        Path dir = tmp.resolve("out");
        CliRunner r = DumpRoundTripTest.dump(t.pid(), dir);
        assertEquals(Cli.EXIT_FAILED, r.code, r.toString());
        assertTrue(r.err.contains("epoll watches fd " + r0 + " (inode "), r.err);
        assertTrue(r.err.contains("is closed; the images name a target by its fd in that task"), r.err);
        assertNothingWritten(dir);
    }

    @Test
    void freezeResumesEveryTaskOfTheTree() throws Exception {
        Tree t = start("if os.fork() == 0:\n    time.sleep(1000)\ntime.sleep(0.3)\nready()");
        List<Integer> pids = t.pids();
        assertEquals(2, pids.size());
        CliRunner r = DumpRoundTripTest.dump(t.pid(), tmp.resolve("out"), "--freeze");
        assertEquals(0, r.code, r.toString());
        for (int p : pids) {
            assertNotEquals('T', state(p), "task " + p);
        }
        assertTrue(r.out.contains("\"freeze\" : true") || r.out.contains("\"freeze\": true"), r.out);
    }
}
