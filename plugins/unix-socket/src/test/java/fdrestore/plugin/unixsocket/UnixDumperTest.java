package fdrestore.plugin.unixsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dump side of unix sockets on real sockets of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UnixDumperTest {
    private final List<Integer> fds = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void close() {
        fds.forEach(Sys::closeQuietly);
    }

    private int[] keep(int... more) {
        for (int fd : more) {
            fds.add(fd);
        }
        return more;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static UnixSkEntry dump(LocalDumpContext ctx) throws DumpException {
        assertTrue(UnixDumper.dumps(ctx.file()), ctx.file().toString());
        return new UnixSocketKind().dump(ctx).getUsk();
    }

    private static List<String> queue(LocalDumpContext ctx, long id) {
        List<String> out = new ArrayList<>();
        for (ImageEntry e : ctx.side.getOrDefault(Magic.SK_QUEUES, List.of())) {
            SkPacketEntry p = (SkPacketEntry) e.message();
            assertEquals(id, p.getIdFor());
            assertEquals(p.getLength(), e.payload().length);
            out.add(new String(e.payload(), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static String read(int fd) throws Exception {
        byte[] buf = new byte[4096];
        int n = Sys.read(fd, buf, 0, buf.length);
        return new String(buf, 0, Math.max(n, 0), StandardCharsets.UTF_8);
    }

    @Test
    void datagramsArePeekedOneByOneWithoutConsumingThem() throws Exception {
        int[] p = keep(Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0));
        for (String s : new String[] {"one", "number two", "3"}) {
            Sys.write(p[0], b(s), 0, s.length());
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(p[1], 7)) {
            UnixSkEntry e = dump(ctx);
            assertEquals(2, e.getType());
            assertEquals(1, e.getState());
            assertEquals(Sys.fstat(p[0]).ino(), Integer.toUnsignedLong(e.getPeer()));
            assertEquals(List.of("one", "number two", "3"), queue(ctx, 7));
        }
        assertEquals(-1, Sys.getsockoptInt(p[1], Linux.SOL_SOCKET, QueuePeek.SO_PEEK_OFF), "SO_PEEK_OFF put back");
        assertEquals("one", read(p[1]), "the queue is intact");
        assertEquals("number two", read(p[1]));
        assertEquals("3", read(p[1]));
    }

    @Test
    void aStreamQueueIsOnePacketAndStaysQueued() throws Exception {
        int[] p = keep(Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0));
        Sys.write(p[0], b("first;"), 0, 6);
        Sys.write(p[0], b("second"), 0, 6);
        try (LocalDumpContext ctx = LocalDumpContext.of(p[1], 3)) {
            UnixSkEntry e = dump(ctx);
            assertEquals(List.of("first;second"), queue(ctx, 3));
            assertTrue(!e.hasShutdown(), "not shut down");
            assertTrue(e.getOpts().getSoSndbuf() > 0);
        }
        assertEquals("first;second", read(p[1]));
    }

    @Test
    void listenersNamesAndAPendingConnection() throws Exception {
        String path = tmp.resolve("l.sock").toString();
        int l = keep(Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0))[0];
        Sys.bind(l, Sys.unixPathAddress(path));
        Sys.listen(l, 4);
        String abs = "fdrestore-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        int la = keep(Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0))[0];
        Sys.bind(la, Sys.unixAbstractAddress(abs));
        Sys.listen(la, 2);
        int c = keep(Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0))[0];
        Sys.connect(c, Sys.unixPathAddress(path));
        try (LocalDumpContext ctx = LocalDumpContext.of(l, 1)) {
            UnixSkEntry e = dump(ctx);
            assertEquals(10, e.getState());
            assertEquals(4, e.getBacklog());
            assertArrayEquals(b(path + "\0"), e.getName().toByteArray(), "a path name ends with its NUL");
            assertTrue(e.hasFilePerms() && !e.getDeleted());
            assertEquals(List.of(), queue(ctx, 1));
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(la, 2)) {
            UnixSkEntry e = dump(ctx);
            assertArrayEquals(b("\0" + abs), e.getName().toByteArray(), "an abstract name starts with NUL");
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(c, 3)) {
            UnixSkEntry e = dump(ctx);
            assertEquals(1, e.getState());
            assertEquals(Sys.fstat(l).ino(), Integer.toUnsignedLong(e.getPeer()),
                    "an unaccepted client's peer is the listener (CRIU's convention)");
        }
    }

    @Test
    void fdsInFlightAreRefusedAndNotLeaked() throws Exception {
        int[] p = keep(Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0));
        Sys.sendmsg(p[0], null, b("x"), 1, new int[] {p[0]}, 1, 0);
        String inFlight = "socket:[" + Sys.fstat(p[0]).ino() + "]";
        long copiesBefore = Sys.fdTargets().values().stream().filter(inFlight::equals).count();
        try (LocalDumpContext ctx = LocalDumpContext.of(p[1], 5)) {
            DumpException e = assertThrows(DumpException.class, () -> dump(ctx));
            assertTrue(e.isUnsupported() && e.getMessage().contains("SCM_RIGHTS"), e.getMessage());
        }
        assertEquals(copiesBefore, Sys.fdTargets().values().stream().filter(inFlight::equals).count(),
                "the peeked fd copies are closed: " + Sys.fdTargets());
        assertEquals("x", read(p[1]), "the packet is still queued");
    }

    /** A datagram socket connected to a socket of another process (outside the "tree", here this JVM). */
    @Test
    void peerOutsideTheTreeIsRecordedAsExternal() throws Exception {
        String name = "fdr-ext-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Process py = new ProcessBuilder("python3", "-c", "import socket, os, sys, time\n"
                + "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                + "s.bind('\\0" + name + "')\n"
                + "print(os.fstat(s.fileno()).st_ino, flush=True)\n"
                + "sys.stdin.read()\n").redirectErrorStream(true).start();
        try {
            long extIno = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(py.getInputStream()))
                    .readLine().trim());
            int[] c = keep(Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0));
            Sys.connect(c[0], Sys.unixAbstractAddress(name));
            try (LocalDumpContext ctx = LocalDumpContext.of(c[0], 7)) {
                UnixSkEntry e = dump(ctx);
                assertEquals(extIno, Integer.toUnsignedLong(e.getPeer()));
                assertEquals(1, ctx.files.size(), "one entry for the external peer: " + ctx.files);
                UnixSkEntry ext = ctx.files.get(0).getUsk();
                assertEquals(extIno, Integer.toUnsignedLong(ext.getIno()));
                assertEquals(UnixSock.USK_EXTERN, ext.getUflags());
                assertEquals(ctx.files.get(0).getId(), ext.getId());
                assertEquals("\0" + name, ext.getName().toStringUtf8());
                assertEquals(0, ext.getPeer());
                assertTrue(ctx.notes.stream().anyMatch(n -> n.contains("outside the tree")), ctx.notes.toString());
            }
            int[] pair = keep(Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0));
            try (LocalDumpContext ctx = LocalDumpContext.of(pair[0], 8)) {
                dump(ctx);
                assertEquals(List.of(), ctx.files, "a peer this process holds is not external");
            }
        } finally {
            py.destroyForcibly().waitFor();
        }
    }
}
