package fdrestore.plugin.unixsocket;

import static fdrestore.plugin.unixsocket.UnixImageBuilder.CLOSE;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.DGRAM;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.ESTABLISHED;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.LISTEN;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.SEQPACKET;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.STREAM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.AdditionalAnswers.delegatesTo;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
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
 * Unix sockets restored into real private task tables with the real SCM_RIGHTS transport, from image sets
 * the tests write, then checked with the kernel: names (getsockname/getpeername), queued bytes in both
 * directions, accept() of unaccepted connections, fds passed in queues, and what a failed restore leaves.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
@EnabledIf(value = "transportOnClassPath",
        disabledReason = "restore-transport (fdrestore.transport.ScmTransport) is not on the test class path")
class RealUnixTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int FLOOR = 256;
    private static final String TRANSPORT = "fdrestore.transport.ScmTransport";

    @TempDir
    Path tmp;
    private Path root;
    private TaskRuntime runtime;
    private Transport transport;
    private final Map<Integer, TaskTable> tables = new HashMap<>();
    private final List<FileRestorer> restorers = new ArrayList<>();
    private final String tag = UUID.randomUUID().toString().substring(0, 8);

    static boolean transportOnClassPath() {
        try {
            Class.forName(TRANSPORT);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        transport = (Transport) Class.forName(TRANSPORT).getMethod("create").invoke(null);
        root = Files.createDirectories(tmp.resolve("root"));
        Files.createDirectories(root.resolve("run"));
    }

    @AfterEach
    void stop() {
        runtime.close();
        if (transport != null) {
            transport.close();
        }
    }

    private Engine engine(UnixImageBuilder b) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("img")));
        Engine.Builder eb = Engine.builder(transport).root(root);
        for (ImageSet.Task t : images.tasks()) {
            ExecutorTaskTable real = runtime.start(t.pid(), FLOOR);
            tables.put(t.pid(), real);
            eb.table(real);
        }
        PlanContext pc = UnixImageBuilder.planContext(images, root);
        UnixSocketKind kind = new UnixSocketKind();
        for (FileInfo f : UnixImageBuilder.files(images)) {
            FileRestorer r = kind.plan(f, pc);
            restorers.add(r);
            eb.file(f, kind.name(), r);
        }
        return eb.build();
    }

    private void restore(UnixImageBuilder b) throws Exception {
        Engine e = engine(b);
        assertTimeoutPreemptively(LIMIT, e::run);
        assertNoTemporaries();
    }

    private void assertNoTemporaries() throws Exception {
        for (Map.Entry<Integer, TaskTable> t : tables.entrySet()) {
            List<Integer> left = new ArrayList<>();
            for (int fd : ((ExecutorTaskTable) t.getValue()).listFds()) {
                if (fd >= FLOOR) {
                    left.add(fd);
                }
            }
            assertEquals(List.of(), left, "temporaries left in task " + t.getKey());
        }
    }

    private byte[] recv(int pid, int fd) throws Exception {
        byte[] buf = new byte[4096];
        TaskTable.Received r = tables.get(pid).recvFds(fd, buf, new int[8]);
        return r.again() ? null : Arrays.copyOf(buf, r.payloadLen());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] abstractName(String n) {
        return bytes("\0" + n);
    }

    private static byte[] pathName(Path p) {
        byte[] n = bytes(p.toString());
        return Arrays.copyOf(n, n.length + 1);
    }

    private byte[] sockname(int pid, int fd) throws Exception {
        byte[] a = tables.get(pid).getsockname(fd);
        return Arrays.copyOfRange(a, 2, a.length);
    }

    private byte[] peername(int pid, int fd) throws Exception {
        byte[] a = tables.get(pid).getpeername(fd);
        return Arrays.copyOfRange(a, 2, a.length);
    }

    private int sockType(int pid, int fd) throws Exception {
        byte[] v = new byte[4];
        tables.get(pid).getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_TYPE, v);
        return SockOpts.intOf(v);
    }

    @ParameterizedTest
    @ValueSource(ints = {STREAM, DGRAM, SEQPACKET})
    void pairAcrossTasksKeepsQueuesBothWaysByteForByte(int type) throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(type, ESTABLISHED);
        int c = b.sock(type, ESTABLISHED);
        byte[] big = new byte[3000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        b.connect(a, c).fd(10, 3, a).fd(11, 5, c).fd(11, 6, a);
        b.packet(a, "c2a-1").packet(a, big).packet(c, "a2c-1").packet(c, "a2c-22");
        restore(b);
        assertEquals(type, sockType(10, 3));
        if (type == STREAM) {
            byte[] want = new byte[5 + big.length];
            System.arraycopy(bytes("c2a-1"), 0, want, 0, 5);
            System.arraycopy(big, 0, want, 5, big.length);
            byte[] got = new byte[0];
            byte[] part;
            while ((part = recv(10, 3)) != null && part.length > 0) {
                got = concat(got, part);
            }
            assertArrayEquals(want, got);
            assertArrayEquals(bytes("a2c-1a2c-22"), recv(11, 5));
        } else {
            assertArrayEquals(bytes("c2a-1"), recv(10, 3));
            assertArrayEquals(big, recv(10, 3));
            assertArrayEquals(bytes("a2c-1"), recv(11, 5));
            assertArrayEquals(bytes("a2c-22"), recv(11, 5));
        }
        assertNull(recv(10, 3));
        assertNull(recv(11, 5));
        // Task 11's fd 6 is the same socket as task 10's fd 3: what c sends arrives there too.
        assertEquals(2, tables.get(11).send(5, bytes("hi"), 0, 2, new int[0], 0));
        assertArrayEquals(bytes("hi"), recv(11, 6));
        assertEquals(0, Sys.kcmp(((ExecutorTaskTable) tables.get(10)).tid(), ((ExecutorTaskTable) tables.get(11)).tid(),
                Linux.KCMP_FILE, 3, 6), "one open file description");
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] out = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    @Test
    void listenerAtAPathWithAcceptedAndUnacceptedConnections() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int l = b.sock(STREAM, LISTEN);
        int srv = b.sock(STREAM, ESTABLISHED);
        int cli = b.sock(STREAM, ESTABLISHED);
        int p1 = b.sock(STREAM, ESTABLISHED);
        int p2 = b.sock(STREAM, ESTABLISHED);
        b.edit(l).setBacklog(5);
        b.pathName(l, "/run/l.sock").pathName(srv, "/run/l.sock").connect(srv, cli).peer(p1, l).peer(p2, l);
        b.fd(10, 3, l).fd(10, 4, srv).fd(11, 3, cli).fd(11, 4, p1).fd(11, 5, p2);
        b.packet(srv, "to server").packet(cli, "to client");
        restore(b);
        Path sock = root.toRealPath().resolve("run/l.sock");
        byte[] name = pathName(sock);
        assertArrayEquals(name, sockname(10, 3));
        assertArrayEquals(name, sockname(10, 4), "the accepted connection keeps the listener's name");
        assertArrayEquals(name, peername(11, 3));
        assertArrayEquals(name, peername(11, 4));
        assertArrayEquals(bytes("to server"), recv(10, 4));
        assertArrayEquals(bytes("to client"), recv(11, 3));
        TaskTable t = tables.get(10);
        t.fcntl(3, Linux.F_SETFL, Linux.O_RDWR | Linux.O_NONBLOCK);
        int a1 = t.accept(3, 0);
        int a2 = t.accept(3, 0);
        assertTrue(a1 >= 0 && a2 >= 0, "both unaccepted connections can be accepted");
        assertEquals(-1, t.accept(3, 0));
        t.close(a1);
        t.close(a2);
    }

    @Test
    void acceptedConnectionWhoseListenerIsGoneKeepsItsName() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int srv = b.sock(SEQPACKET, ESTABLISHED);
        int cli = b.sock(SEQPACKET, ESTABLISHED);
        int srv2 = b.sock(STREAM, ESTABLISHED);
        int cli2 = b.sock(STREAM, ESTABLISHED);
        b.abstractName(srv, "gone-" + tag).connect(srv, cli).fd(10, 3, srv).fd(11, 3, cli);
        b.pathName(srv2, "/run/gone.sock").connect(srv2, cli2).fd(11, 4, srv2).fd(10, 4, cli2);
        b.packet(cli, "s2c");
        restore(b);
        assertArrayEquals(abstractName("gone-" + tag), sockname(10, 3));
        assertArrayEquals(abstractName("gone-" + tag), peername(11, 3));
        assertArrayEquals(bytes("s2c"), recv(11, 3));
        Path sock = root.toRealPath().resolve("run/gone.sock");
        assertArrayEquals(pathName(sock), sockname(11, 4));
        assertArrayEquals(pathName(sock), peername(10, 4));
        assertFalse(Files.exists(sock), "the temporary listener's file is removed");
        // The name is free again: nobody listens there any more.
        int probe = tables.get(10).socket(Linux.AF_UNIX, Linux.SOCK_SEQPACKET, 0);
        try {
            SysException e = assertThrows(SysException.class,
                    () -> tables.get(10).connect(probe, Sys.unixAbstractAddress("gone-" + tag)));
            assertEquals(Errno.ECONNREFUSED, e.errno());
        } finally {
            tables.get(10).close(probe);
        }
    }

    @Test
    void datagramSocketsBoundAndConnectedByName() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int server = b.sock(DGRAM, CLOSE);
        int client = b.sock(DGRAM, ESTABLISHED);
        int deleted = b.sock(DGRAM, CLOSE);
        b.pathName(server, "/run/log.sock").peer(client, server).abstractName(client, "cl-" + tag);
        b.pathName(deleted, "/run/deleted.sock").edit(deleted).setDeleted(true);
        b.fd(11, 3, server).fd(10, 3, client).fd(10, 4, deleted);
        b.packet(server, "log 1").packet(server, "log 2").packet(deleted, "self").packet(client, "x");
        // client is connected to server, so only server can have sent client's packet: server re-sends
        // it with sendto() to client's name.
        restore(b);
        Path sock = root.toRealPath().resolve("run/log.sock");
        assertArrayEquals(pathName(sock), peername(10, 3));
        assertArrayEquals(abstractName("cl-" + tag), sockname(10, 3));
        assertArrayEquals(bytes("log 1"), recv(11, 3));
        assertArrayEquals(bytes("log 2"), recv(11, 3));
        assertArrayEquals(bytes("x"), recv(10, 3));
        assertArrayEquals(bytes("self"), recv(10, 4));
        assertArrayEquals(pathName(root.toRealPath().resolve("run/deleted.sock")), sockname(10, 4));
        assertFalse(Files.exists(root.resolve("run/deleted.sock")), "bound, then unlinked");
        assertTrue(Files.exists(sock));
    }

    @Test
    void fdsPassedInAQueueArriveWithTheirPacket() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        int passed = b.sock(STREAM, CLOSE);
        b.abstractName(passed, "passed-" + tag);
        b.connect(a, c).fd(10, 3, a).fd(11, 3, c).fd(10, 9, passed);
        b.packet(c, "with fd", passed).packet(c, "plain");
        restore(b);
        byte[] buf = new byte[64];
        int[] fds = new int[4];
        TaskTable.Received r = tables.get(11).recvFds(3, buf, fds);
        assertFalse(r.again());
        assertEquals("with fd", new String(buf, 0, r.payloadLen(), StandardCharsets.UTF_8));
        assertEquals(1, r.fdCount());
        assertEquals(tables.get(10).fstat(9).ino(), tables.get(11).fstat(fds[0]).ino(), "the passed socket itself");
        assertArrayEquals(abstractName("passed-" + tag), sockname(11, fds[0]));
        tables.get(11).close(fds[0]);
        assertArrayEquals(bytes("plain"), recv(11, 3));
    }

    @Test
    void optionsFlagsAndShutdown() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int a = b.sock(STREAM, ESTABLISHED);
        int c = b.sock(STREAM, ESTABLISHED);
        b.connect(a, c).fd(10, 3, a).fd(10, 4, c);
        b.edit(a).setFlags(Linux.O_RDWR | Linux.O_NONBLOCK).setShutdown(2) // SHUT_WR
                .setOpts(UnixImageBuilder.opts().toBuilder().setSoSndbuf(65536).setSoPasscred(true).build());
        b.edit(c).setShutdown(1); // its read side: a's write shutdown seen from c
        b.packet(c, "last words");
        restore(b);
        TaskTable t = tables.get(10);
        assertEquals(Linux.O_NONBLOCK, t.fcntl(3, Linux.F_GETFL, 0) & Linux.O_NONBLOCK);
        assertEquals(0, t.fcntl(4, Linux.F_GETFL, 0) & Linux.O_NONBLOCK);
        byte[] v = new byte[4];
        t.getsockopt(3, Linux.SOL_SOCKET, Linux.SO_SNDBUF, v);
        assertEquals(65536, SockOpts.intOf(v));
        t.getsockopt(3, Linux.SOL_SOCKET, Linux.SO_PASSCRED, v);
        assertEquals(1, SockOpts.intOf(v));
        assertArrayEquals(bytes("last words"), recv(10, 4), "queued before the shutdown");
        assertArrayEquals(new byte[0], recv(10, 4), "then end of stream");
        assertThrows(SysException.class, () -> t.send(3, bytes("no"), 0, 2, new int[0], 0));
    }

    @Test
    void abortRemovesEverySocketFileTheRestoreBound() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int l = b.sock(STREAM, LISTEN);
        int busy = b.sock(DGRAM, CLOSE);
        b.pathName(l, "/run/l.sock").abstractName(busy, "busy-" + tag).fd(10, 3, l).fd(10, 4, busy);
        int holder = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
        try {
            Sys.bind(holder, Sys.unixAbstractAddress("busy-" + tag));
            Engine e = engine(b);
            RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
            assertTrue(ex.getMessage().contains("ino " + UnixImageBuilder.ino(busy))
                    && ex.getMessage().contains("@busy-" + tag)
                    && ex.getMessage().contains("already in use, held by pid " + ProcessHandle.current().pid()),
                    ex.getMessage());
        } finally {
            Sys.close(holder);
        }
        assertTrue(Files.exists(root.resolve("run/l.sock")), "bound by the listener before the failure");
        for (FileRestorer r : restorers) {
            ((UnixRestorer) r).abort(); // what the engine's abort hook calls
        }
        assertEquals(List.of(), filesUnderRoot());
    }

    @Test
    void ownFailureAfterBindUnlinksTheFileAtOnce() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int l = b.sock(STREAM, LISTEN);
        b.pathName(l, "/run/fail.sock").fd(10, 3, l);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("img")));
        ExecutorTaskTable real = runtime.start(10, FLOOR);
        TaskTable failing = mock(TaskTable.class, delegatesTo(real));
        doThrow(new SysException("listen(x)", Errno.EADDRINUSE)).when(failing).listen(anyInt(), anyInt());
        Engine.Builder eb = Engine.builder(transport).root(root).table(failing);
        PlanContext pc = UnixImageBuilder.planContext(images, root);
        for (FileInfo f : UnixImageBuilder.files(images)) {
            eb.file(f, "unix", new UnixSocketKind().plan(f, pc));
        }
        Engine e = eb.build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("ino " + UnixImageBuilder.ino(l)) && ex.getMessage().contains("/run/fail.sock"),
                ex.getMessage());
        assertEquals(List.of(), filesUnderRoot());
        transport.close(real); // the transport's endpoint is the caller's to close after a failure
        for (int fd : real.listFds()) {
            assertTrue(fd < FLOOR, "temporary " + fd + " left");
        }
    }

    @Test
    void pathThroughASymlinkOutOfTheRootIsRefused() throws Exception {
        Files.createSymbolicLink(root.resolve("out"), tmp);
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, CLOSE);
        b.pathName(s, "/out/escape.sock").fd(10, 3, s);
        Engine e = engine(b);
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("outside the root"), ex.getMessage());
        assertFalse(Files.exists(tmp.resolve("escape.sock")));
    }

    @Test
    void regularFileAtTheSocketPathIsNeverReplaced() throws Exception {
        Files.writeString(root.resolve("run/data.sock"), "user data");
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, CLOSE);
        b.pathName(s, "/run/data.sock").fd(10, 3, s);
        Engine e = engine(b);
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("not a socket"), ex.getMessage());
        assertEquals("user data", Files.readString(root.resolve("run/data.sock")));
    }

    @Test
    void deletedNameInARemovedDirectoryIsReachedByItsPeersThenGoesWithTheDirectories() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int d = b.sock(DGRAM, ESTABLISHED);
        int c1 = b.sock(DGRAM, ESTABLISHED);
        int c2 = b.sock(DGRAM, ESTABLISHED);
        b.pathName(d, "/run/gone/deeper/d.sock").edit(d).setDeleted(true);
        b.peer(c1, d).peer(c2, d).fd(10, 3, d).fd(11, 3, c1).fd(10, 4, c2);
        b.packet(d, "from c1");
        restore(b);
        byte[] name = pathName(root.toRealPath().resolve("run/gone/deeper/d.sock"));
        assertArrayEquals(name, sockname(10, 3), "the socket keeps its deleted name");
        assertArrayEquals(name, peername(11, 3), "a peer in another task connected to it");
        assertArrayEquals(name, peername(10, 4));
        assertArrayEquals(bytes("from c1"), recv(10, 3));
        assertNull(recv(11, 3), "c1 is connected to d, which cannot send to it: nothing queued for it");
        assertEquals(2, tables.get(10).send(4, bytes("c2"), 0, 2, new int[0], 0));
        assertArrayEquals(bytes("c2"), recv(10, 3), "the restored connection works");
        assertFalse(Files.exists(root.resolve("run/gone")), "the directories made for the name are removed");
        try (Stream<Path> left = Files.list(root.resolve("run"))) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void deletedNameOverAFifoLeavesTheFifoWhereItWas() throws Exception {
        Path fifo = root.resolve("run/both.test");
        assertEquals(0, new ProcessBuilder("mkfifo", "-m", "0640", fifo.toString()).start().waitFor());
        Object inode = Files.getAttribute(fifo, "unix:ino");
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int d = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        b.pathName(d, "/run/both.test").edit(d).setDeleted(true);
        b.peer(c, d).fd(10, 4, d).fd(10, 5, c).packet(d, "queued");
        restore(b);
        assertArrayEquals(pathName(root.toRealPath().resolve("run/both.test")), sockname(10, 4));
        assertArrayEquals(pathName(root.toRealPath().resolve("run/both.test")), peername(10, 5));
        assertArrayEquals(bytes("queued"), recv(10, 4));
        assertTrue(isFifo(fifo), "still the fifo");
        assertEquals(inode, Files.getAttribute(fifo, "unix:ino"), "the user's fifo itself, moved back");
        assertEquals("rw-r-----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(fifo)));
        assertEquals(List.of(fifo), filesUnderRoot(), "nothing else is left");
    }

    @Test
    void deletedNameUnderARegularFileIsRefusedAndNothingIsMade() throws Exception {
        Files.writeString(root.resolve("run/file"), "user data");
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int d = b.sock(DGRAM, CLOSE);
        b.pathName(d, "/run/file/sub/d.sock").edit(d).setDeleted(true);
        b.fd(10, 3, d);
        Engine e = engine(b);
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("task 10 fd 3") && ex.getMessage().contains("/run/file/sub/d.sock")
                && ex.getMessage().contains("exists and is not a directory"), ex.getMessage());
        for (FileRestorer r : restorers) {
            ((UnixRestorer) r).abort();
        }
        assertEquals("user data", Files.readString(root.resolve("run/file")));
        assertEquals(List.of(root.resolve("run/file")), filesUnderRoot());
        try (Stream<Path> all = Files.walk(root)) {
            assertEquals(List.of(root, root.resolve("run"), root.resolve("run/file")), all.sorted().toList());
        }
    }

    @Test
    void failureWhileAPeerConnectsRemovesTheDirectoriesAndGivesTheFifoBack() throws Exception {
        Files.createDirectories(root.resolve("run/a"));
        Path fifo = root.resolve("run/a/x");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int d1 = b.sock(DGRAM, CLOSE);
        int d2 = b.sock(DGRAM, CLOSE);
        int c = b.sock(DGRAM, ESTABLISHED);
        b.pathName(d1, "/run/a/x").edit(d1).setDeleted(true);
        b.pathName(d2, "/run/b/c/y").edit(d2).setDeleted(true);
        b.peer(c, d2).fd(10, 3, d1).fd(10, 4, d2).fd(11, 3, c);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("img")));
        Engine.Builder eb = Engine.builder(transport).root(root);
        for (int pid : new int[] {10, 11}) {
            ExecutorTaskTable real = runtime.start(pid, FLOOR);
            tables.put(pid, real);
            TaskTable t = real;
            if (pid == 11) {
                t = mock(TaskTable.class, delegatesTo(real));
                doThrow(new SysException("connect(x)", Errno.ECONNREFUSED)).when(t).connect(anyInt(),
                        org.mockito.ArgumentMatchers.any(byte[].class));
            }
            eb.table(t);
        }
        PlanContext pc = UnixImageBuilder.planContext(images, root);
        for (FileInfo f : UnixImageBuilder.files(images)) {
            FileRestorer r = new UnixSocketKind().plan(f, pc);
            restorers.add(r);
            eb.file(f, "unix", r);
        }
        Engine e = eb.build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("ECONNREFUSED"), ex.getMessage());
        for (FileRestorer r : restorers) {
            ((UnixRestorer) r).abort(); // what the engine's abort hook calls
        }
        assertEquals(List.of(fifo), filesUnderRoot());
        assertTrue(isFifo(fifo), "the fifo is back");
        assertFalse(Files.exists(root.resolve("run/b")), "the directories made for /run/b/c/y are gone");
    }

    @Test
    void datagramSocketConnectedToItselfGetsItsQueueFromItself() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, ESTABLISHED);
        b.abstractName(s, "self-" + tag).peer(s, s).fd(10, 3, s).packet(s, "one").packet(s, "two");
        restore(b);
        assertArrayEquals(abstractName("self-" + tag), sockname(10, 3));
        assertArrayEquals(abstractName("self-" + tag), peername(10, 3), "connected to itself");
        assertArrayEquals(bytes("one"), recv(10, 3));
        assertArrayEquals(bytes("two"), recv(10, 3));
    }

    @Test
    void unnamedDatagramSocketWhoseSenderIsGoneGetsItsQueue() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, ESTABLISHED);
        b.fd(10, 4, s).packet(s, "left behind").packet(s, "and more");
        restore(b);
        assertArrayEquals(bytes("left behind"), recv(10, 4));
        assertArrayEquals(bytes("and more"), recv(10, 4));
        assertNull(recv(10, 4));
    }

    @ParameterizedTest
    @ValueSource(ints = {STREAM, DGRAM, SEQPACKET})
    void socketFileOfALiveSocketIsNeverTakenOver(int liveType) throws Exception {
        Path path = root.toRealPath().resolve("run/live.sock");
        int live = Sys.socket(Linux.AF_UNIX, liveType | Linux.SOCK_CLOEXEC, 0);
        try {
            Sys.bind(live, Sys.unixPathAddress(path.toString()));
            if (liveType != DGRAM) {
                Sys.listen(live, 4);
            }
            Object inode = Files.getAttribute(path, "unix:ino");
            UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
            int l = b.sock(STREAM, LISTEN);
            b.pathName(l, "/run/live.sock").fd(10, 3, l);
            Engine e = engine(b);
            RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
            assertTrue(ex.getMessage().contains("task 10 fd 3") && ex.getMessage().contains(path + " is the name of a live socket")
                    && ex.getMessage().contains("held by pid " + ProcessHandle.current().pid()), ex.getMessage());
            for (FileRestorer r : restorers) {
                ((UnixRestorer) r).abort();
            }
            assertEquals(inode, Files.getAttribute(path, "unix:ino"), "the live socket's file is still there");
            assertEquals(List.of(path), filesUnderRoot());
        } finally {
            Sys.close(live);
        }
    }

    @Test
    void staleSocketFileIsReplaced() throws Exception {
        Path path = root.toRealPath().resolve("run/stale.sock");
        int gone = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        Sys.bind(gone, Sys.unixPathAddress(path.toString()));
        Sys.close(gone);
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int l = b.sock(STREAM, LISTEN);
        b.pathName(l, "/run/stale.sock").fd(10, 3, l);
        restore(b);
        assertArrayEquals(pathName(path), sockname(10, 3));
        assertEquals(List.of(path), filesUnderRoot(), "the new socket's file, and no private name left");
    }

    /**
     * scm00's case: a queued packet passes the read end of a pipe that no fd refers to any more. The unix
     * plugin asks for it in flight; its restorer (here a stand-in for the pipe plugin) opens it in the
     * re-sending task, where the engine holds it at a temporary number, never at a target, and closes it
     * once the task is done: the receiver gets the pipe, and nothing is left in the table.
     */
    @Test
    void fileThatExistsOnlyInFlightIsPassedAndThenClosed() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int a = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        int pipe = b.otherFile(fdrestore.api.image.FdType.PIPE);
        b.connect(a, c).fd(10, 4, a).fd(10, 5, c).packet(c, "\0", pipe);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("img")));
        assertEquals(Map.of((long) pipe, 10), new UnixSocketKind().inFlight(images));
        ExecutorTaskTable real = runtime.start(10, FLOOR);
        tables.put(10, real);
        Engine.Builder eb = Engine.builder(transport).root(root).table(real);
        PlanContext pc = UnixImageBuilder.planContext(images, root);
        for (FileInfo f : UnixImageBuilder.files(images)) {
            eb.file(f, "unix", new UnixSocketKind().plan(f, pc));
        }
        FileRestorer readEnd = ctx -> {
            int[] p = ctx.table().pipe(0);
            ctx.table().write(p[1], bytes("in the pipe"), 0, 11);
            ctx.table().close(p[1]);
            return fdrestore.api.spi.OpenResult.done(p[0]);
        };
        eb.file(new FileInfo(pipe, fdrestore.api.image.FdType.PIPE, images.file(pipe).orElseThrow(),
                List.of(fdrestore.api.spi.FleInfo.inFlight(10))), "pipe", readEnd);
        Engine e = eb.build();
        assertTimeoutPreemptively(LIMIT, e::run);
        assertNoTemporaries();
        byte[] buf = new byte[16];
        int[] fds = new int[4];
        TaskTable.Received r = real.recvFds(5, buf, fds);
        assertFalse(r.again());
        assertEquals(1, r.fdCount(), "the pipe came with the packet");
        byte[] data = new byte[32];
        assertEquals(11, real.read(fds[0], data, 0, data.length));
        assertEquals("in the pipe", new String(data, 0, 11, StandardCharsets.UTF_8));
        real.close(fds[0]);
    }

    private static boolean isFifo(Path p) throws Exception {
        return (((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS)) & 0170000) == 0010000;
    }

    private List<Path> filesUnderRoot() throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> !Files.isDirectory(p)).toList();
        }
    }
}
