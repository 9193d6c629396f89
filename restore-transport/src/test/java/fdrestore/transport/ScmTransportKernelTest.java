package fdrestore.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
/**
 * The transport on real kernel objects: two private fd tables from the real task runtime, real abstract
 * SOCK_DGRAM sockets, real SCM_RIGHTS, and hostile peers in the JVM's own table and in another process.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "unix sockets, SCM_RIGHTS and unshare(CLONE_FILES) are Linux")
class ScmTransportKernelTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int FLOOR = 300;
    private static final int A = 1;
    private static final int B = 2;

    private TaskRuntime runtime;
    private ExecutorTaskTable a;
    private ExecutorTaskTable b;
    private ScmTransport transport;
    private final int[] rxFds = new int[Transport.MAX_FDS];
    private final long[] rxTags = new long[Transport.MAX_FDS];

    @BeforeEach
    void start() throws SysException {
        runtime = new TaskRuntime();
        a = runtime.start(A, FLOOR);
        b = runtime.start(B, FLOOR);
        transport = ScmTransport.create();
    }

    @AfterEach
    void stop() {
        if (transport != null) {
            transport.close();
        }
        if (runtime != null) {
            runtime.close();
        }
    }

    private void openBoth() throws SysException {
        transport.open(a);
        transport.open(b);
    }

    /** Opens {@code n} distinct open file descriptions of /dev/null in {@code t}. */
    private static int[] openDevNull(ExecutorTaskTable t, int n) throws SysException {
        int[] fds = new int[n];
        for (int i = 0; i < n; i++) {
            fds[i] = t.open("/dev/null", Linux.O_RDONLY, 0);
        }
        return fds;
    }

    /** 0 when fd {@code fa} of table {@code x} and fd {@code fb} of table {@code y} are one open file. */
    private static int kcmpFile(ExecutorTaskTable x, int fa, ExecutorTaskTable y, int fb) throws SysException {
        return Sys.kcmp(x.tid(), y.tid(), Linux.KCMP_FILE, fa, fb);
    }

    /** Files.readString trusts the size procfs reports (0) and may stop early: read to EOF instead. */
    private static String readProc(String path) throws java.io.IOException {
        try (java.io.InputStream in = Files.newInputStream(Path.of(path))) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }


    // ---- delivery ---------------------------------------------------------------------------------

    @Test
    void endpointIsABoundPasscredSocketAtATemporaryNumber() {
        assertTimeoutPreemptively(LIMIT, () -> {
            openBoth();
            int sock = transport.endpointFd(B);
            assertTrue(sock >= FLOOR, "endpoint " + sock + " is a temporary");
            assertEquals(Linux.FD_CLOEXEC, b.fcntl(sock, Linux.F_GETFD, 0) & Linux.FD_CLOEXEC);
            byte[] v = new byte[4];
            b.getsockopt(sock, Linux.SOL_SOCKET, Linux.SO_PASSCRED, v);
            assertEquals(1, ScmTransport.getInt(v, 0), "SO_PASSCRED");
            String name = "@" + transport.endpointName(B);
            if (transport.isolated()) {
                assertFalse(readProc("/proc/net/unix").contains(name), "invisible in the host's namespace");
                String own = readProc("/proc/self/task/" + PrivateNet.get().threadId() + "/net/unix");
                assertTrue(own.contains(name), "abstract name is bound in the private namespace");
            } else {
                assertTrue(readProc("/proc/net/unix").contains(name), "abstract name is bound");
            }
        });
    }

    /** Root (CAP_SYS_ADMIN) gets the private namespace: issue 23 item 3 depends on it. */
    @Test
    @EnabledIf(value = "fdrestore.transport.Hostile#canRunAsNobody", disabledReason = "needs root, python3, setpriv or runuser")
    void asRootTheEndpointsAreInAPrivateNetworkNamespace() {
        assertTrue(transport.isolated(), transport.isolation());
        assertEquals("private network namespace", transport.isolation());
    }

    /**
     * Issue 23 item 3: an unprivileged user who knows the endpoints' names (here: told them) can neither
     * bind them first nor deliver one datagram to them. Fails with the endpoints in the host's namespace.
     */
    @Test
    @EnabledIf(value = "fdrestore.transport.Hostile#canRunAsNobody", disabledReason = "needs root, python3, setpriv or runuser")
    void anUnprivilegedUserCanNeitherSquatNorFloodTheEndpoints() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Process p = Hostile.start(Hostile.asNobody(), Hostile.FLOODER, "0", "squat",
                    transport.endpointName(A), transport.endpointName(B));
            try {
                String said = Hostile.firstLine(p);
                assertTrue(said.matches("delivered \\d+ bound \\d+"), said);
                assertEquals("bound 2", said.substring(said.indexOf("bound")), "nobody bound both names first");
                openBoth(); // the squatter's names are in the host's namespace: no collision
            } finally {
                p.getOutputStream().close();
                p.waitFor();
            }
            Process q = Hostile.start(Hostile.asNobody(), Hostile.FLOODER, "1", "flood",
                    transport.endpointName(A), transport.endpointName(B));
            String again = Hostile.firstLine(q);
            q.waitFor();
            assertEquals("delivered 0", again.substring(0, again.indexOf(" bound")), "the flood reached an endpoint");
            assertEquals(-1, transport.receive(b, rxFds, rxTags), "nothing queued");
            assertEquals(0, transport.dropped());
        });
    }

    @ParameterizedTest(name = "{0} fds a message")
    @ValueSource(ints = {1, 2, Transport.MAX_FDS})
    void fdsArriveAsTheSameOpenFileDescriptionWithTheirTags(int n) {
        assertTimeoutPreemptively(LIMIT, () -> {
            openBoth();
            int[] sent = openDevNull(a, n);
            long[] tags = new long[n];
            Map<Long, Integer> byTag = new HashMap<>();
            for (int i = 0; i < n; i++) {
                tags[i] = (1L << 60) | (n - i) * 1_000_003L;   // not in fd order
                byTag.put(tags[i], i);
            }
            assertTrue(transport.send(a, B, sent, tags, n));
            int got = transport.receive(b, rxFds, rxTags);
            assertEquals(n, got);
            for (int i = 0; i < got; i++) {
                Integer k = byTag.remove(rxTags[i]);
                assertTrue(k != null, "unexpected tag " + rxTags[i]);
                assertEquals(0, kcmpFile(a, sent[k], b, rxFds[i]), "fd with tag " + rxTags[i] + " is its sender's file");
                if (n > 1) {
                    assertNotEquals(0, kcmpFile(a, sent[(k + 1) % n], b, rxFds[i]), "and not another one");
                }
                assertTrue(rxFds[i] >= FLOOR, "received fd " + rxFds[i] + " is a temporary");
                assertEquals(Linux.FD_CLOEXEC, b.fcntl(rxFds[i], Linux.F_GETFD, 0) & Linux.FD_CLOEXEC);
            }
            assertTrue(byTag.isEmpty());
            for (int fd : sent) {
                a.fcntl(fd, Linux.F_GETFD, 0);   // still open in the sender's table (throws EBADF if not)
            }
            assertEquals(-1, transport.receive(b, rxFds, rxTags));
            assertEquals(0, transport.dropped());
        });
    }

    @Test
    void aSharedFileOffsetMovesInBothTables(@TempDir Path dir) {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path f = dir.resolve("data");
            Files.writeString(f, "0123456789");
            openBoth();
            int fa = a.open(f.toString(), Linux.O_RDONLY, 0);
            assertTrue(transport.send(a, B, new int[] {fa}, new long[] {99}, 1));
            assertEquals(1, transport.receive(b, rxFds, rxTags));
            assertEquals(99, rxTags[0]);
            a.lseek(fa, 7, Linux.SEEK_SET);
            assertEquals(7, b.lseek(rxFds[0], 0, Linux.SEEK_CUR));
            TaskTableStat sa = TaskTableStat.of(a, fa);
            TaskTableStat sb = TaskTableStat.of(b, rxFds[0]);
            assertEquals(sa, sb);
        });
    }

    /** dev and ino of an fd. */
    private record TaskTableStat(long dev, long ino) {
        static TaskTableStat of(ExecutorTaskTable t, int fd) throws SysException {
            var s = t.fstat(fd);
            return new TaskTableStat(s.dev(), s.ino());
        }
    }

    @Test
    void bothDirectionsAndManyTasksEachGetTheirOwnMessages() {
        assertTimeoutPreemptively(LIMIT, () -> {
            ExecutorTaskTable c = runtime.start(3, FLOOR);
            openBoth();
            transport.open(c);
            int[] fa = openDevNull(a, 2);
            int[] fb = openDevNull(b, 1);
            assertTrue(transport.send(a, B, fa, new long[] {10, 11}, 1));
            assertTrue(transport.send(a, 3, new int[] {fa[1]}, new long[] {12}, 1));
            assertTrue(transport.send(b, A, fb, new long[] {20}, 1));
            assertEquals(1, transport.receive(b, rxFds, rxTags));
            assertEquals(10, rxTags[0]);
            assertEquals(0, kcmpFile(a, fa[0], b, rxFds[0]));
            assertEquals(1, transport.receive(c, rxFds, rxTags));
            assertEquals(12, rxTags[0]);
            assertEquals(0, kcmpFile(a, fa[1], c, rxFds[0]));
            assertEquals(1, transport.receive(a, rxFds, rxTags));
            assertEquals(20, rxTags[0]);
            assertEquals(0, kcmpFile(b, fb[0], a, rxFds[0]));
            for (ExecutorTaskTable t : new ExecutorTaskTable[] {a, b, c}) {
                assertEquals(-1, transport.receive(t, rxFds, rxTags));
            }
        });
    }

    // ---- back-pressure ----------------------------------------------------------------------------

    @Test
    void aFullQueueAnswersFalseAndAcceptsAgainAfterADrain() {
        assertTimeoutPreemptively(LIMIT, () -> {
            openBoth();
            int qlen = Integer.parseInt(readProc("/proc/sys/net/unix/max_dgram_qlen").trim());
            int[] fd = openDevNull(a, 1);
            int accepted = 0;
            boolean refused = false;
            // The kernel takes max_dgram_qlen (+1) datagrams; the bound only keeps a broken test finite.
            for (int i = 0; i < qlen + 5 && !refused; i++) {
                if (transport.send(a, B, fd, new long[] {i}, 1)) {
                    accepted++;
                } else {
                    refused = true;
                }
            }
            assertTrue(refused, "send answered false on a full queue; accepted " + accepted);
            assertTrue(accepted >= qlen, accepted + " datagrams queued, max_dgram_qlen " + qlen);
            assertFalse(transport.send(a, B, fd, new long[] {-1}, 1), "still full");
            a.fcntl(fd[0], Linux.F_GETFD, 0);   // a refused send leaves the fd with the sender

            assertEquals(1, transport.receive(b, rxFds, rxTags));
            assertEquals(0, rxTags[0], "first in, first out");
            b.close(rxFds[0]);
            assertTrue(transport.send(a, B, fd, new long[] {1000}, 1), "room again after a drain");

            int drained = 0;
            long lastTag = -2;
            while (transport.receive(b, rxFds, rxTags) >= 0) {
                b.close(rxFds[0]);
                lastTag = rxTags[0];
                drained++;
            }
            assertEquals(accepted, drained);
            assertEquals(1000, lastTag);
            assertEquals(0, transport.dropped());
        });
    }

    // ---- hostile peers ----------------------------------------------------------------------------

    @Test
    @EnabledIf(value = "fdrestore.transport.Hostile#pythonAvailable", disabledReason = "python3 is not installed")
    void foreignAndForgedDatagramsAreDroppedWithTheirFdsClosed() {
        assertTimeoutPreemptively(LIMIT, () -> {
            long token = 0x5eed5eed5eed5eedL;
            transport = new ScmTransport(TransportNames.newRunId(), token, ProcessHandle.current().pid());
            openBoth();
            int[] before = b.listFds();

            // Another process: garbage, garbage with an fd, a perfect forgery (right token!) and a huge one.
            Process p = Hostile.start(Hostile.SENDER, transport.endpointName(B), Long.toHexString(token),
                    Integer.toString(ScmTransport.MAGIC));
            String said = Hostile.firstLine(p);
            assertEquals(0, p.waitFor(), said);
            assertEquals("sent", said);

            // The JVM's own table (right pid): a wrong token, and a right token with fewer fds than tags.
            int dropsFromJvm = 0;
            int sock = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
            int devNull = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            try {
                byte[] dest = TransportNames.address(transport.runId(), B);
                byte[] forged = ScmTransport.encode(token ^ 1, new long[] {1}, 1);
                assertTrue(Sys.sendmsg(sock, dest, forged, forged.length, new int[] {devNull}, 1,
                        Linux.MSG_DONTWAIT) > 0);
                dropsFromJvm++;
                byte[] short1 = transport.encode(new long[] {1, 2}, 2);
                assertTrue(Sys.sendmsg(sock, dest, short1, short1.length, new int[] {devNull}, 1,
                        Linux.MSG_DONTWAIT) > 0);
                dropsFromJvm++;
            } finally {
                Sys.close(devNull);
                Sys.close(sock);
            }

            // A genuine message queued behind them.
            int[] genuine = openDevNull(a, 2);
            assertTrue(transport.send(a, B, genuine, new long[] {77, 78}, 2));

            assertEquals(2, transport.receive(b, rxFds, rxTags));
            assertArrayEquals(new long[] {77, 78}, new long[] {rxTags[0], rxTags[1]});
            assertEquals(0, kcmpFile(a, genuine[0], b, rxFds[0]));
            assertEquals(0, kcmpFile(a, genuine[1], b, rxFds[1]));
            assertEquals(Hostile.SENT + dropsFromJvm, transport.dropped(), String.join("\n", transport.dropReports()));
            assertTrue(transport.dropReports().stream().anyMatch(r -> r.contains("pid " + p.pid())),
                    String.join("\n", transport.dropReports()));
            b.close(rxFds[0]);
            b.close(rxFds[1]);
            assertArrayEquals(before, b.listFds(), "every fd of a dropped datagram was closed");
            assertEquals(-1, transport.receive(b, rxFds, rxTags));
        });
    }

    // ---- squatters ----------------------------------------------------------------------------------

    /** A transport whose endpoints are abstract names of the host's namespace (the fallback without CAP_SYS_ADMIN). */
    private static ScmTransport hostNamespace() {
        return new ScmTransport(TransportNames.newRunId(), new java.security.SecureRandom().nextLong(),
                ProcessHandle.current().pid());
    }

    @Test
    void aNameSquattedInTheJvmMakesOpenFailDetectably() {
        assertTimeoutPreemptively(LIMIT, () -> {
            transport.close();
            transport = hostNamespace();
            int squat = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
            try {
                Sys.bind(squat, TransportNames.address(transport.runId(), B));
                transport.open(a);
                int[] before = b.listFds();
                SysException e = assertThrows(SysException.class, () -> transport.open(b));
                assertEquals(Errno.EADDRINUSE, e.errno());
                assertTrue(ScmTransport.isNameTaken(e), e.getMessage());
                assertTrue(e.getMessage().contains(transport.endpointName(B)), e.getMessage());
                assertArrayEquals(before, b.listFds(), "the refused socket was closed");
                assertEquals(-1, transport.endpointFd(B));
            } finally {
                Sys.close(squat);
            }
            // The orchestrator's answer: a new run id.
            transport.close(a);
            transport = ScmTransport.create();
            openBoth();
        });
    }

    @Test
    @EnabledIf(value = "fdrestore.transport.Hostile#pythonAvailable", disabledReason = "python3 is not installed")
    void aNameSquattedByAnotherProcessMakesOpenFailDetectably() {
        assertTimeoutPreemptively(LIMIT, () -> {
            transport.close();
            transport = hostNamespace();
            Process p = Hostile.start(Hostile.SQUATTER, transport.endpointName(A));
            try {
                assertEquals("bound", Hostile.firstLine(p));
                SysException e = assertThrows(SysException.class, () -> transport.open(a));
                assertTrue(ScmTransport.isNameTaken(e), e.getMessage());
            } finally {
                p.getOutputStream().close();
                p.waitFor();
            }
        });
    }

    // ---- nothing leaks ------------------------------------------------------------------------------

    @Test
    void fdsLeftInFlightAreReleasedAndTheJvmTableIsUnchanged() {
        assertTimeoutPreemptively(LIMIT, () -> {
            stop();                      // this test runs its own runtimes
            inFlightScenario();          // once to load and link everything the scenario touches
            Map<Integer, String> before = Sys.fdTargets();
            inFlightScenario();
            assertEquals(Map.of(), fdrestore.api.sys.FdLeaks.gainedSince(before), "the JVM's own fd table gained nothing");
            runtime = new TaskRuntime(); // for @AfterEach
            transport = ScmTransport.create();
        });
    }

    /**
     * The only write end of a pipe is left in flight in B's queue (every table's copy closed); closing
     * B's endpoint must release it: the JVM's read end then sees EOF.
     */
    private static void inFlightScenario() throws SysException {
        int[] pipe = Sys.pipe2(Linux.O_CLOEXEC | Linux.O_NONBLOCK);
        int rd = pipe[0];
        int wr = pipe[1];
        try (TaskRuntime rt = new TaskRuntime(); ScmTransport tr = ScmTransport.create()) {
            ExecutorTaskTable ta = rt.start(A, FLOOR);
            ExecutorTaskTable tb = rt.start(B, FLOOR);
            tr.open(ta);
            tr.open(tb);
            Sys.close(wr);
            wr = -1;
            // the tables copied the JVM's table: their copies of the write end travel, then go away
            int wa = ta.dup(pipe[1]);
            ta.close(pipe[1]);
            tb.close(pipe[1]);
            assertTrue(tr.send(ta, B, new int[] {wa}, new long[] {1}, 1));
            ta.close(wa);
            int[] more = openDevNull(ta, Transport.MAX_FDS);
            assertTrue(tr.send(ta, B, more, new long[Transport.MAX_FDS], Transport.MAX_FDS));
            int[] back = openDevNull(tb, 3);
            assertTrue(tr.send(tb, A, back, new long[3], 3));
            assertEquals(-1, Sys.read(rd, new byte[1], 0, 1), "the write end lives in flight");
            tr.close(tb);
            assertEquals(0, Sys.read(rd, new byte[1], 0, 1), "closing the endpoint released its queue");
            tr.close(ta);
        } finally {
            Sys.closeQuietly(wr);
            Sys.close(rd);
        }
    }
}
