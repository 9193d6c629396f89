package fdrestore.app.serve;

import fdrestore.app.Cli;
import fdrestore.app.HardeningSupport;
import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.json.Json;
import fdrestore.core.process.Processes;
import fdrestore.testkit.Samples;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fdrestore serve}'s server in this JVM, driven by a client written here that speaks the wire
 * format of lib/fdrestore-client: real sockets, real SCM_RIGHTS, real pipes for the client's stdout and
 * stderr, real restores. The C client itself is run by ServeIT against the packaged distribution.
 */
class ServerTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String HOME = "/opt/fdrestore-under-test";

    @TempDir
    Path tmp;

    private Server server;
    private Thread loop;
    private final StringWriter log = new StringWriter();

    @BeforeEach
    void start() throws Exception {
        Path dir = tmp.resolve("run");
        server = new Server(dir.resolve("s.sock"), HOME, new PrintWriter(log));
        server.listen();
        loop = new Thread(server::serve, "test-serve");
        loop.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        loop.join(10_000);
        assertFalse(loop.isAlive(), "the accept loop ends on close");
        assertFalse(Files.exists(server.socket()), "close removes the socket");
    }

    /** What a served command answered and printed. */
    record Answer(byte type, int code, String out, String err) {
    }

    /** A client: its stdout and stderr are pipes read here, its stdin /dev/null; it sends the request and waits. */
    final class Client implements AutoCloseable {
        final int sock;
        final int[] out;
        final int[] err;
        final int in;
        final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        final Thread outReader;
        final Thread errReader;
        /** The server's first answer to the request ("A" or "F"), once read. */
        byte[] first;

        Client() throws SysException {
            sock = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
            assertTrue(Sys.connect(sock, Sys.unixPathAddress(server.socket().toString())));
            out = Sys.pipe2(Linux.O_CLOEXEC);
            err = Sys.pipe2(Linux.O_CLOEXEC);
            in = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            outReader = drain(out[0], outBytes);
            errReader = drain(err[0], errBytes);
        }

        void send(byte[] request, int... fds) throws SysException {
            Sys.sendmsg(sock, null, request, request.length, fds, fds.length, Linux.MSG_NOSIGNAL);
        }

        /** Sends {@code args} from {@code cwd} with this client's stdio, as the C client does. */
        /** Sends {@code args} as the C client does, and says "G" if the server takes them ("A"). */
        void ask(Path cwd, String... args) throws SysException {
            send(new ServeRequest(022, HOME, cwd.toString(), List.of(args), Map.of("CI", "true")).encode());
            first = message();
            if (first[0] == ServeRequest.ACCEPT) {
                go(in, out[1], err[1]);
            }
            handedOver();
        }

        /** "G", with {@code fds} (the C client's 0, 1 and 2). */
        void go(int... fds) throws SysException {
            send(ServeRequest.reply(ServeRequest.GO, 0), fds);
        }

        /** The server's first answer to a request sent with {@link #send}: "A" (taken) or "F". */
        byte firstAnswer() throws SysException {
            first = message();
            return first[0];
        }

        private byte[] message() throws SysException {
            byte[] m = new byte[ServeRequest.MESSAGE];
            int have = 0;
            while (have < m.length) {
                Sys.Received r = Sys.receive(sock, m.length - have);
                assertEquals(0, r.fds().length, "the server sends no fds");
                assertTrue(r.data().length > 0, "the server closed without an answer; its log:\n" + log);
                System.arraycopy(r.data(), 0, m, have, r.data().length);
                have += r.data().length;
            }
            return m;
        }

        /** Closes this side's write ends: the server has its own copies (or none), and the pipes end when it closes them. */
        void handedOver() {
            Sys.closeQuietly(out[1]);
            Sys.closeQuietly(err[1]);
            out[1] = -1;
            err[1] = -1;
        }

        void signal(int signo) throws SysException {
            byte[] m = ServeRequest.reply(ServeRequest.SIGNAL, signo);
            send(m);
        }

        /** The final answer: "F" if that was the first one, else the "X" that ends the command. */
        Answer answer() throws Exception {
            byte[] reply = first != null && first[0] == ServeRequest.FALLBACK ? first : message();
            outReader.join(10_000);
            errReader.join(10_000);
            assertFalse(outReader.isAlive() || errReader.isAlive(),
                    "the client's stdout and stderr end when the server is done with them");
            int code = (reply[1] & 0xff) | (reply[2] & 0xff) << 8 | (reply[3] & 0xff) << 16 | (reply[4] & 0xff) << 24;
            return new Answer(reply[0], code, text(outBytes), text(errBytes));
        }

        /** Waits until a restore --json has printed its whole document (it then waits); returns the tasks' pids. */
        List<Integer> restoredPids() throws InterruptedException {
            while (true) {
                try {
                    return pids(text(outBytes));
                } catch (RuntimeException incomplete) {
                    Thread.sleep(10); // not all printed yet
                }
            }
        }

        /** Closes the socket and the write ends, then the read ends once their readers saw the end (no fd reuse under them). */
        @Override
        public void close() {
            for (int fd : new int[] {sock, out[1], err[1], in}) {
                Sys.closeQuietly(fd);
            }
            try {
                outReader.join(10_000);
                errReader.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Sys.closeQuietly(out[0]);
            Sys.closeQuietly(err[0]);
        }
    }

    /** The real pids of a restore's --json document, in its order. */
    @SuppressWarnings("unchecked")
    private static List<Integer> pids(String json) {
        List<Integer> pids = new ArrayList<>();
        for (Object t : (List<Object>) ((Map<String, Object>) Json.parse(json)).get("tasks")) {
            pids.add(((Number) ((Map<String, Object>) t).get("pid")).intValue());
        }
        return pids;
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    private static Thread drain(int fd, ByteArrayOutputStream into) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = Sys.read(fd, buf, 0, buf.length)) > 0) {
                    synchronized (into) {
                        into.write(buf, 0, n);
                    }
                }
            } catch (SysException e) {
                // closed under us by close(): the test has its answer already
            }
        }, "test-drain-" + fd);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private Answer ask(Path cwd, String... args) throws Exception {
        try (Client c = new Client()) {
            c.ask(cwd, args);
            return c.answer();
        }
    }

    @Test
    void servesAShowWithTheClientsOutputAndExitCode() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path sample = Samples.criu("a_pipe");
            Answer a = ask(tmp, "show", sample.toString());
            assertEquals(ServeRequest.EXIT, a.type(), a.toString());
            assertEquals(0, a.code(), a.toString());
            assertTrue(a.out().startsWith("Image set " + sample + ": 4 tasks, 26 fds"), a.out());
            assertEquals("", a.err());
            assertEquals(1, server.served());
            assertTrue(log.toString().contains("show " + sample + " -> exit 0"), log.toString());
        });
    }

    @Test
    void resolvesRelativePathsAgainstTheClientsDirectory() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path sample = Samples.criu("a_pipe");
            Answer a = ask(sample.getParent(), "show", "--json", "a_pipe");
            assertEquals(0, a.code(), a.toString());
            assertTrue(a.out().contains("\"tasks\""), a.out());
            Answer missing = ask(tmp, "show", "a_pipe");
            assertEquals(2, missing.code(), missing.toString());
            assertTrue(missing.err().startsWith("fdrestore: ") && missing.err().contains(tmp.resolve("a_pipe").toString()),
                    "the error names the path as the client meant it: " + missing.err());
        });
    }

    @Test
    void badImagesExitTwoWithOneLineOnTheClientsStderr() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Answer a = ask(tmp, "restore", tmp.toString());
            assertEquals(ServeRequest.EXIT, a.type());
            assertEquals(2, a.code(), a.toString());
            assertEquals(1, a.err().strip().lines().count(), a.err());
            assertTrue(a.err().contains("not an image set"), a.err());
        });
    }

    @Test
    void commandsNotServedHereAndOtherInstallationsAreToldToRunThemselves() {
        assertTimeoutPreemptively(LIMIT, () -> {
            for (String[] args : List.of(new String[] {"dump", "--help"}, new String[] {"bench", "--floor"},
                    new String[] {"-v", "serve"})) {
                Answer a = ask(tmp, args);
                assertEquals(ServeRequest.FALLBACK, a.type(), String.join(" ", args) + ": " + a);
                assertEquals("", a.out() + a.err(), "nothing ran");
            }
            try (Client c = new Client()) {
                c.send(new ServeRequest(022, "/elsewhere", tmp.toString(), List.of("show", "x"), Map.of()).encode());
                c.handedOver();
                assertEquals(ServeRequest.FALLBACK, c.answer().type());
            }
            assertEquals(0, server.served());
            assertTrue(Server.servable(List.of("-v", "restore", "--detach", "x")));
            assertTrue(Server.servable(List.of("--version")));
            assertTrue(Server.servable(List.of("show", "--no-such-option")), "a usage error is printed as a direct run would");
            assertFalse(Server.servable(List.of("dump", "--no-such-option")));
            assertFalse(Server.servable(List.of("restore", "--shell-job", "x")), "the caller's own session and terminal");
            assertFalse(Server.servable(List.of("restore", "--inherit-fd", "fd[3]:pipe:[1]", "x")), "the caller's own fds");
        });
    }

    /** The server starts a command only on the client's "G": a client that gave up runs it itself, not twice. */
    @Test
    void aCommandTakenButNotConfirmedNeverRuns() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path out = tmp.resolve("graph.dot");
            try (Client c = new Client()) {
                c.send(new ServeRequest(022, HOME, tmp.toString(), List.of("graph", "-o", out.toString(),
                        Samples.criu("a_pipe").toString()), Map.of()).encode());
                c.handedOver();
                assertEquals(ServeRequest.ACCEPT, c.firstAnswer());
            } // closed without "G", as a client whose patience ran out
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!log.toString().contains("gave up before the start")) {
                assertTrue(System.nanoTime() < deadline, log.toString());
                Thread.sleep(10);
            }
            assertFalse(Files.exists(out), "the command did not run");
            assertEquals(0, server.served());
            Answer ok = ask(tmp, "graph", "-o", out.toString(), Samples.criu("a_pipe").toString());
            assertEquals(0, ok.code(), ok.toString());
            assertTrue(Files.size(out) > 0, "a confirmed one does");
        });
    }

    @Test
    void malformedRequestsAreRefusedAndTheServerGoesOn() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Client c = new Client()) {
                byte[] junk = "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                c.send(junk);
                c.handedOver();
                assertEquals(ServeRequest.FALLBACK, c.answer().type());
            }
            try (Client c = new Client()) {
                // a well-formed request, taken, confirmed without the three fds
                c.send(new ServeRequest(022, HOME, tmp.toString(), List.of("show", "x"), Map.of()).encode());
                assertEquals(ServeRequest.ACCEPT, c.firstAnswer());
                c.go();
                c.handedOver();
                assertEquals(ServeRequest.FALLBACK, c.answer().type());
            }
            try (Client c = new Client()) {
                // fds with the request itself: refused, and closed
                c.send(new ServeRequest(022, HOME, tmp.toString(), List.of("show", "x"), Map.of()).encode(),
                        c.in, c.out[1], c.err[1]);
                c.handedOver();
                assertEquals(ServeRequest.FALLBACK, c.answer().type());
            }
            Map<Integer, String> fdsBefore = HardeningSupport.jvmFds();
            try (Client c = new Client()) {
                // the header and the fds, then the client goes away: the server keeps none of them
                byte[] request = new ServeRequest(022, HOME, tmp.toString(), List.of("show", "x"), Map.of()).encode();
                c.send(java.util.Arrays.copyOf(request, ServeRequest.HEADER), c.in, c.out[1], c.err[1]);
                c.handedOver();
            }
            assertNoNewFds(fdsBefore);
            assertTrue(log.toString().contains("bad request: not an fdrestore request"), log.toString());
            assertTrue(log.toString().contains("expected the client's fds 0, 1 and 2 with its G, got 0"), log.toString());
            assertTrue(log.toString().contains("fds come with the client's G"), log.toString());
            Answer ok = ask(tmp, "--version");
            assertEquals(0, ok.code(), ok.toString());
            assertTrue(ok.out().startsWith("fdrestore "), ok.out());
        });
    }

    @Test
    void aWaitingRestoreKeepsTheServerBusyAndStopsOnTheClientsCtrlC() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
            Map<Integer, String> fdsBefore = HardeningSupport.jvmFds();
            List<Integer> pids = new ArrayList<>();
            try (Client waiting = new Client()) {
                waiting.ask(tmp, "restore", "--root", root.toString(), "--json", Samples.criu("a_pipe").toString());
                pids.addAll(waiting.restoredPids());
                assertEquals(4, pids.size());
                assertTrue(pids.stream().allMatch(Processes::running), "restored and waited for");
                Answer busy = ask(tmp, "--version");
                assertEquals(ServeRequest.FALLBACK, busy.type(), "one command at a time: the second runs itself");
                waiting.signal(2);
                Answer a = waiting.answer();
                assertEquals(130, a.code(), a.toString());
            }
            for (int pid : pids) {
                assertFalse(Processes.running(pid), "task " + pid + " stopped on the client's Ctrl-C");
            }
            assertTrue(log.toString().contains("(signal 2)"), log.toString());
            assertFalse(log.toString().contains("WARNING"), log.toString());
            assertNoNewFds(fdsBefore);
        });
    }

    /**
     * The server checks its own fd table around each command: an fd opened meanwhile and left open is
     * named, also when it took the number of an fd closed meanwhile (another thread's, as a cleaner may
     * close a stream at any time).
     */
    @Test
    void anFdLeftOpenByACommandIsReportedInTheLog() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
            int leaked = -1;
            int reused = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            try (Client c = new Client()) {
                c.ask(tmp, "restore", "--root", root.toString(), "--json", Samples.criu("a_pipe").toString());
                assertEquals(4, c.restoredPids().size());
                // this JVM is the server: an fd opened here while the command runs is one it would leave behind
                leaked = Sys.open("/dev/zero", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
                Sys.dup3(leaked, reused, Linux.O_CLOEXEC); // /dev/null's number now refers to /dev/zero
                c.signal(15);
                assertEquals(128 + 15, c.answer().code());
            } finally {
                Sys.closeQuietly(leaked);
                Sys.closeQuietly(reused);
            }
            assertTrue(log.toString().contains("WARNING: the command left 2 fd(s) open here: [" + Math.min(leaked, reused)
                    + " (/dev/zero), " + Math.max(leaked, reused) + " (/dev/zero)]"), log.toString());
        });
    }

    /**
     * The server's table gained nothing since {@code before}, once its client thread has closed the
     * connection (so the check waits a little for that).
     */
    private static void assertNoNewFds(Map<Integer, String> before) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<String> extra;
        while (!(extra = HardeningSupport.gainedSince(before)).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of(), extra, "fds the request left in the server");
    }

    @Test
    void aClientThatGoesAwayStopsItsWaitingRestore() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
            List<Integer> pids = new ArrayList<>();
            Client c = new Client();
            try {
                c.ask(tmp, "restore", "--root", root.toString(), "--json", Samples.criu("a_pipe").toString());
                pids.addAll(c.restoredPids());
            } finally {
                c.close(); // as a client killed by SIGKILL: no signal message, only the end of the connection
            }
            while (pids.stream().anyMatch(Processes::running) || server.served() == 0) {
                Thread.sleep(10);
            }
            assertTrue(log.toString().contains("(signal 1)"), "the hang-up is the command's SIGHUP:\n" + log);
        });
    }

    @Test
    void detachedRootTasksAreReapedByTheServerWhenTheyEnd() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
            Answer a = ask(tmp, "restore", "--root", root.toString(), "--detach", "--json", Samples.criu("a_pipe").toString());
            assertEquals(0, a.code(), a.toString());
            List<Integer> pids = pids(a.out());
            int rootPid = pids.get(0);
            assertTrue(Files.readString(Path.of("/proc/" + rootPid + "/stat")).contains(") S "), "the root task runs");
            RestoredTasks.stop(new ArrayList<>(pids.subList(1, pids.size())));
            Sys.kill(rootPid, 9);
            // a zombie keeps its /proc entry until it is reaped: the server's reaper must collect it
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (Files.exists(Path.of("/proc/" + rootPid))) {
                assertTrue(System.nanoTime() < deadline, "task " + rootPid + " is reaped within 10 s, not left a zombie: "
                        + Files.readString(Path.of("/proc/" + rootPid + "/stat")));
                Thread.sleep(20);
            }
        });
    }

    @Test
    void listenRefusesALiveSocketAndUnsafeDirectoriesAndReplacesAStaleOne() throws Exception {
        Server second = new Server(server.socket(), HOME, new PrintWriter(new StringWriter()));
        Cli.UsageException live = assertThrows(Cli.UsageException.class, second::listen);
        assertTrue(live.getMessage().contains("already listens"), live.getMessage());

        Path open = tmp.resolve("open");
        Files.createDirectories(open);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Cli.UsageException unsafe = assertThrows(Cli.UsageException.class,
                () -> new Server(open.resolve("s.sock"), HOME, new PrintWriter(new StringWriter())).listen());
        assertTrue(unsafe.getMessage().contains("others cannot write"), unsafe.getMessage());

        Path staleDir = tmp.resolve("stale");
        Files.createDirectories(staleDir);
        Files.setPosixFilePermissions(staleDir, PosixFilePermissions.fromString("rwx------"));
        int fd = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        Sys.bind(fd, Sys.unixPathAddress(staleDir.resolve("s.sock").toString()));
        Sys.close(fd); // bound, never listened, closed: what a killed server leaves
        Server fresh = new Server(staleDir.resolve("s.sock"), HOME, new PrintWriter(new StringWriter()));
        fresh.listen();
        try {
            assertTrue(Server.answers(staleDir.resolve("s.sock")));
        } finally {
            fresh.close();
        }
        assertFalse(Files.exists(staleDir.resolve("s.sock")));
    }

    @Test
    void requestsDecodeStrictly() throws Exception {
        ServeRequest r = new ServeRequest(027, "/opt/x", "/home/u", List.of("restore", "--detach", "d i r"),
                Map.of("CI", "1", "LANG", "C.UTF-8"));
        byte[] wire = r.encode();
        int len = ServeRequest.bodyLength(wire);
        assertEquals(wire.length - ServeRequest.HEADER, len);
        byte[] body = java.util.Arrays.copyOfRange(wire, ServeRequest.HEADER, wire.length);
        assertEquals(r, ServeRequest.decode(body));

        byte[] badMagic = wire.clone();
        badMagic[0] = 'G';
        assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.bodyLength(badMagic));
        byte[] huge = wire.clone();
        huge[7] = 0x7f;
        assertTrue(assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.bodyLength(huge)).getMessage()
                .contains("out of range"));
        byte[] unterminated = java.util.Arrays.copyOf(body, body.length - 1);
        assertTrue(assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.decode(unterminated)).getMessage()
                .contains("not terminated"));
        byte[] trailing = java.util.Arrays.copyOf(body, body.length + 2);
        trailing[trailing.length - 1] = 'x';
        assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.decode(trailing));
        byte[] relative = new ServeRequest(022, "/opt/x", "home/u", List.of(), Map.of()).encode();
        assertTrue(assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.decode(
                java.util.Arrays.copyOfRange(relative, ServeRequest.HEADER, relative.length))).getMessage()
                .contains("not absolute"));
        byte[] counts = body.clone();
        counts[4] = 100; // argc
        assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.decode(counts));
        byte[] mask = body.clone();
        mask[1] = 0x10; // umask 010027
        assertThrows(ServeRequest.BadRequest.class, () -> ServeRequest.decode(mask));
        assertArrayEquals(new byte[] {'X', 2, 0, 0, 0}, ServeRequest.reply(ServeRequest.EXIT, 2));
    }
}
