package fdrestore.plugin.inetsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dump side of inet sockets on real sockets of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class InetDumperTest {
    private final List<Integer> fds = new ArrayList<>();
    private final InetKind kind = new InetKind();

    @AfterEach
    void close() {
        fds.forEach(Sys::closeQuietly);
    }

    private int socket(int family, int type) throws Exception {
        int fd = Sys.socket(family, type | Linux.SOCK_CLOEXEC, 0);
        fds.add(fd);
        return fd;
    }

    private static byte[] loopback4() {
        return new InetAddr(InetConst.AF_INET, new byte[] {127, 0, 0, 1}, 0, 0).sockaddr();
    }

    @Test
    void aListenerRecordsItsAddressBacklogAndOptions() throws Exception {
        int s = socket(Linux.AF_INET, Linux.SOCK_STREAM);
        Sys.setsockoptInt(s, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1);
        Sys.bind(s, loopback4());
        Sys.listen(s, 9);
        int port = InetAddr.parse(Sys.getsockname(s)).port();
        try (LocalDumpContext ctx = LocalDumpContext.of(s, 6)) {
            assertTrue(kind.dumps(ctx.file()));
            InetSkEntry e = kind.dump(ctx).getIsk();
            assertEquals(InetConst.TCP_LISTEN, e.getState());
            assertEquals(9, e.getBacklog());
            assertEquals(port, e.getSrcPort());
            assertEquals(List.of(0x0100007f), e.getSrcAddrList(), "127.0.0.1 as CRIU's network-order word");
            assertEquals(Sys.fstat(s).ino(), Integer.toUnsignedLong(e.getIno()));
            assertTrue(e.getOpts().getReuseaddr());
            assertTrue(e.getOpts().getSoSndbuf() > 0);
            assertTrue(e.getTcpOpts().hasKeepidle());
        }
    }

    @Test
    void udpBoundAndConnectedAndAnUnboundV6Socket() throws Exception {
        int a = socket(Linux.AF_INET, Linux.SOCK_DGRAM);
        Sys.bind(a, loopback4());
        int b = socket(Linux.AF_INET, Linux.SOCK_DGRAM);
        Sys.connect(b, Sys.getsockname(a));
        try (LocalDumpContext ctx = LocalDumpContext.of(a, 1)) {
            InetSkEntry e = kind.dump(ctx).getIsk();
            assertEquals(InetConst.TCP_CLOSE, e.getState());
            assertTrue(e.getSrcPort() != 0);
            assertEquals(0, e.getDstPort());
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(b, 2)) {
            InetSkEntry e = kind.dump(ctx).getIsk();
            assertEquals(InetConst.TCP_ESTABLISHED, e.getState(), "a connected UDP socket");
            assertEquals(InetAddr.parse(Sys.getsockname(a)).port(), e.getDstPort());
        }
        int v6 = socket(Linux.AF_INET6, Linux.SOCK_STREAM);
        try (LocalDumpContext ctx = LocalDumpContext.of(v6, 3)) {
            InetSkEntry e = kind.dump(ctx).getIsk();
            assertEquals(InetConst.TCP_CLOSE, e.getState());
            assertEquals(4, e.getSrcAddrCount());
            assertTrue(e.hasV6Only());
        }
    }

    @Test
    void anEstablishedConnectionGoesToItsHexNamedStreamImageAndUnixSocketsAreNotInet() throws Exception {
        int l = socket(Linux.AF_INET, Linux.SOCK_STREAM);
        Sys.bind(l, loopback4());
        Sys.listen(l, 1);
        int c = socket(Linux.AF_INET, Linux.SOCK_STREAM);
        Sys.connect(c, Sys.getsockname(l));
        byte[] hello = "queued".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Sys.write(c, hello, 0, hello.length);
        int s = Sys.accept(l);
        fds.add(s);
        Thread.sleep(20); // the bytes reach the accepted end
        try (LocalDumpContext ctx = LocalDumpContext.of(s, 1)) {
            FileEntry f = kind.dump(ctx);
            assertEquals(InetConst.TCP_ESTABLISHED, f.getIsk().getState());
            long ino = Integer.toUnsignedLong(f.getIsk().getIno());
            String name = String.format("tcp-stream-%x.img", ino);
            assertTrue(ctx.objects.containsKey(name), name + " in " + ctx.objects.keySet());
            fdrestore.api.image.codec.ImageEntry e = ctx.objects.get(name).get(0);
            assertArrayEquals(hello, e.payload(), "the unread bytes, peeked in repair mode");
            assertEquals(1, TcpDump.state(s), "the connection goes on after the dump");
        }
        byte[] back = new byte[hello.length];
        assertEquals(hello.length, Sys.read(s, back, 0, back.length), "the dump did not consume the queue");
        int[] pair = Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        fds.add(pair[0]);
        fds.add(pair[1]);
        try (LocalDumpContext ctx = LocalDumpContext.of(pair[0], 1)) {
            assertFalse(kind.dumps(ctx.file()));
        }
    }
}
