package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.AF_INET6;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_UDP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_DGRAM;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.SOL_IP;
import static fdrestore.plugin.inetsocket.InetConst.SOL_IPV6;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;
import static fdrestore.plugin.inetsocket.InetConst.TCP_CLOSE;
import static fdrestore.plugin.inetsocket.InetConst.TCP_ESTABLISHED;
import static fdrestore.plugin.inetsocket.InetConst.TCP_LISTEN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.TcpOptsEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Transport;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inet sockets restored by the engine into a real private fd table (the task runtime), from image sets
 * the tests write, and checked with the kernel: getsockname/getpeername, getsockopt, ss for the backlog,
 * clients that connect, data that flows. The established-connection test takes a real loopback
 * connection apart in repair mode, as criu dump does, and restores it.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealInetTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int FLOOR = 200;
    private static final int PID = 1;
    private static final long FIONREAD = 0x541B;
    private static final long SIOCOUTQ = 0x5411;

    @TempDir
    Path tmp;

    private TaskRuntime runtime;
    private ExecutorTaskTable table;
    private Transport transport;

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(PID, FLOOR);
        transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private Engine engine(InetImageBuilder b) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        PlanContext pc = Fixtures.planContext(images);
        InetKind kind = new InetKind();
        Engine.Builder eb = Engine.builder(transport).table(table);
        for (FileInfo f : Fixtures.inetFiles(images)) {
            eb.file(f, kind.name(), kind.plan(f, pc));
        }
        return eb.build();
    }

    private void restore(InetImageBuilder b) throws Exception {
        Engine e = engine(b);
        assertTimeoutPreemptively(LIMIT, e::run);
        assertNoTemporaries();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private int opt(int fd, int level, int name) throws Exception {
        byte[] v = new byte[4];
        table.getsockopt(fd, level, name, v);
        return InetConst.intAt(v, 0);
    }

    private int ioctlInt(ExecutorTaskTable t, int fd, long req) throws Exception {
        byte[] v = new byte[4];
        t.ioctl(fd, req, v);
        return InetConst.intAt(v, 0);
    }

    private void assertNoTemporaries() throws Exception {
        List<String> left = new ArrayList<>();
        for (int fd : table.listFds()) {
            if (fd >= FLOOR) {
                left.add(fd + " -> " + Files.readSymbolicLink(Path.of("/proc/self/task/" + table.tid() + "/fd/" + fd)));
            }
        }
        assertEquals(List.of(), left, "temporaries left in the task table");
    }

    /** The backlog of a listener, as ss shows it (Send-Q of a LISTEN socket). */
    private static int backlog(String hostPort) throws Exception {
        Process p = new ProcessBuilder("ss", "-ltnH", "src", hostPort).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "ss: " + out);
        String[] cols = out.split("\\s+");
        assertTrue(cols.length >= 4 && cols[0].equals("LISTEN"), "ss -ltn src " + hostPort + ": " + out);
        return Integer.parseInt(cols[2]);
    }

    private int acceptOne(ExecutorTaskTable t, int listener) throws Exception {
        for (int i = 0; i < 5000; i++) {
            int fd = t.accept(listener, 0);
            if (fd >= 0) {
                return fd;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no connection to accept on fd " + listener);
    }

    // ---- listeners ----------------------------------------------------------------------------------

    @Test
    @SuppressWarnings("try") // each client connection is held open for the body, never referenced in it
    void tcpListenersV4V6AndDualStackWithTheirOptions() throws Exception {
        int p4 = freePort();
        int p6 = freePort();
        int pDual = freePort();
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        InetSkEntry.Builder v4 = InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", p4,
                "0.0.0.0", 0).setBacklog(8).setFlags(02 | 04000);
        v4.setOpts(InetImageBuilder.opts(32768, 262144).setReuseaddr(true).setSoKeepalive(true).setSoPriority(3)
                .setSoRcvlowat(1).setSoSndTmoSec(2).setSoSndTmoUsec(500000));
        v4.setIpOpts(IpOptsEntry.newBuilder().setTos(0x10).setTtl(33));
        v4.setTcpOpts(TcpOptsEntry.newBuilder().setNodelay(true).setKeepcnt(4).setKeepidle(100).setKeepintvl(20));
        long f4 = b.socket(v4);
        long f6 = b.socket(InetImageBuilder.sk(AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "::1", p6, "::", 0)
                .setBacklog(5).setV6Only(true));
        long fd = b.socket(InetImageBuilder.sk(AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "::", pDual, "::", 0)
                .setBacklog(17).setV6Only(false));
        b.fd(PID, 3, f4).fd(PID, 4, f6).fd(PID, 5, fd);
        restore(b);

        assertEquals(new InetAddr(AF_INET, new byte[] {127, 0, 0, 1}, p4, 0), InetAddr.parse(table.getsockname(3)));
        assertEquals("[::1]:" + p6, InetAddr.parse(table.getsockname(4)).toString());
        assertEquals("[::]:" + pDual, InetAddr.parse(table.getsockname(5)).toString());
        for (int f = 3; f <= 5; f++) {
            assertEquals(1, opt(f, SOL_SOCKET, InetConst.SO_ACCEPTCONN), "fd " + f + " listens");
        }
        assertEquals(8, backlog("127.0.0.1:" + p4));
        assertEquals(5, backlog("[::1]:" + p6));
        assertEquals(17, backlog("[::]:" + pDual));

        assertEquals(1, opt(3, SOL_SOCKET, InetConst.SO_REUSEADDR));
        assertEquals(0, opt(3, SOL_SOCKET, InetConst.SO_REUSEPORT));
        assertEquals(32768, opt(3, SOL_SOCKET, InetConst.SO_SNDBUF), "getsockopt gives the image's value back");
        assertEquals(262144, opt(3, SOL_SOCKET, InetConst.SO_RCVBUF));
        assertEquals(1, opt(3, SOL_SOCKET, InetConst.SO_KEEPALIVE));
        assertEquals(3, opt(3, SOL_SOCKET, InetConst.SO_PRIORITY));
        byte[] tv = new byte[16];
        table.getsockopt(3, SOL_SOCKET, InetConst.SO_SNDTIMEO, tv);
        assertEquals(2, InetConst.intAt(tv, 0));
        assertEquals(500000, InetConst.intAt(tv, 8));
        assertEquals(1, opt(3, SOL_TCP, InetConst.TCP_NODELAY));
        assertEquals(4, opt(3, SOL_TCP, InetConst.TCP_KEEPCNT));
        assertEquals(100, opt(3, SOL_TCP, InetConst.TCP_KEEPIDLE));
        assertEquals(20, opt(3, SOL_TCP, InetConst.TCP_KEEPINTVL));
        assertEquals(0x10, opt(3, SOL_IP, InetConst.IP_TOS));
        assertEquals(33, opt(3, SOL_IP, InetConst.IP_TTL));
        assertEquals(04000, table.fcntl(3, 3 /* F_GETFL */, 0) & 04000, "O_NONBLOCK");
        assertEquals(0, table.fcntl(4, 3, 0) & 04000, "blocking");
        assertEquals(0, opt(4, SOL_SOCKET, InetConst.SO_REUSEADDR), "the forced SO_REUSEADDR is undone");
        assertEquals(1, opt(4, SOL_IPV6, InetConst.IPV6_V6ONLY));
        assertEquals(0, opt(5, SOL_IPV6, InetConst.IPV6_V6ONLY));
        assertEquals(16384, opt(4, SOL_SOCKET, InetConst.SO_SNDBUF));
        assertEquals(131072, opt(4, SOL_SOCKET, InetConst.SO_RCVBUF));

        // Clients connect; the dual-stack listener takes IPv4 too, the v6only one does not.
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", p4))) {
            int a = acceptOne(table, 3);
            table.close(a);
        }
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("::1", p6))) {
            int a = acceptOne(table, 4);
            table.close(a);
        }
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", pDual))) {
            int a = acceptOne(table, 5);
            table.close(a);
        }
        assertThrows(IOException.class, () -> SocketChannel.open(new InetSocketAddress("127.0.0.1", p6)).close(),
                "nothing listens on IPv4 port " + p6);
    }

    // ---- UDP ----------------------------------------------------------------------------------------

    @Test
    void udpBoundAndConnected() throws Exception {
        int pa = freePort();
        int pb = freePort();
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long a = b.socket(InetImageBuilder.sk(AF_INET, SOCK_DGRAM, IPPROTO_UDP, TCP_CLOSE, "127.0.0.1", pa, "0.0.0.0", 0)
                .setOpts(InetImageBuilder.opts(212992, 212992).setSoBroadcast(true)).setFlags(02 | 04000));
        long c = b.socket(InetImageBuilder.sk(AF_INET, SOCK_DGRAM, IPPROTO_UDP, TCP_ESTABLISHED, "127.0.0.1", pb,
                "127.0.0.1", pa));
        b.fd(PID, 7, a).fd(PID, 8, c);
        restore(b);

        assertEquals("127.0.0.1:" + pa, InetAddr.parse(table.getsockname(7)).toString());
        assertEquals("127.0.0.1:" + pb, InetAddr.parse(table.getsockname(8)).toString());
        assertEquals("127.0.0.1:" + pa, InetAddr.parse(table.getpeername(8)).toString());
        assertThrows(fdrestore.api.sys.SysException.class, () -> table.getpeername(7), "fd 7 is not connected");
        assertEquals(1, opt(7, SOL_SOCKET, InetConst.SO_BROADCAST));
        assertEquals(212992, opt(7, SOL_SOCKET, InetConst.SO_SNDBUF));
        assertEquals(0, opt(7, SOL_SOCKET, InetConst.SO_REUSEADDR));

        byte[] msg = "datagram".getBytes(StandardCharsets.UTF_8);
        assertEquals(msg.length, table.send(8, msg, 0, msg.length, new int[0], 0));
        byte[] got = new byte[64];
        int n = -1;
        for (int i = 0; i < 5000 && n < 0; i++) {
            n = table.read(7, got, 0, got.length); // fd 7 is non-blocking
            if (n < 0) {
                Thread.sleep(1);
            }
        }
        assertEquals("datagram", new String(got, 0, n, StandardCharsets.UTF_8));
    }

    // ---- raw and ICMP sockets -----------------------------------------------------------------------

    /** Raw sockets need CAP_NET_RAW in the network namespace; ICMP datagram sockets a ping group. */
    static boolean canMakeRawSockets() {
        try {
            int fd = fdrestore.api.sys.Sys.socket(AF_INET, InetConst.SOCK_RAW, InetConst.IPPROTO_ICMP);
            fdrestore.api.sys.Sys.close(fd);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    @org.junit.jupiter.api.condition.EnabledIf(value = "canMakeRawSockets",
            disabledReason = "raw sockets need CAP_NET_RAW, which this test process lacks")
    void rawSocketsWithTheirOptionsAndAPingSocket() throws Exception {
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long icmp = b.socket(InetImageBuilder.sk(AF_INET, InetConst.SOCK_RAW, InetConst.IPPROTO_ICMP, TCP_CLOSE,
                "127.0.0.14", 1, "0.0.0.0", 0).setFlags(02 | 04000).setOpts(InetImageBuilder.opts(212992, 212992)
                .setReuseaddr(true).setSoPriority(3)).setIpOpts(IpOptsEntry.newBuilder().setTtl(32)
                .setRaw(fdrestore.api.image.proto.IpOptsRawEntry.newBuilder().addIcmpvFilter(0x2000).setNodefrag(true))));
        long udp6 = b.socket(InetImageBuilder.sk(AF_INET6, InetConst.SOCK_RAW, IPPROTO_UDP, TCP_CLOSE, "::", 17, "::", 0)
                .setV6Only(false).setOpts(InetImageBuilder.opts(212992, 212992).setReuseaddr(true))
                .setIpOpts(IpOptsEntry.newBuilder().setFreebind(true).setPktinfo(true)
                        .setRaw(fdrestore.api.image.proto.IpOptsRawEntry.newBuilder().setHdrincl(true))));
        long icmp6 = b.socket(InetImageBuilder.sk(AF_INET6, InetConst.SOCK_RAW, InetConst.IPPROTO_ICMPV6, TCP_CLOSE,
                "::", 58, "::", 0).setV6Only(false).setOpts(InetImageBuilder.opts(212992, 212992).setReuseaddr(true))
                .setIpOpts(IpOptsEntry.newBuilder().setRaw(fdrestore.api.image.proto.IpOptsRawEntry.newBuilder()
                        .addIcmpvFilter(0x2000).addIcmpvFilter(0).addIcmpvFilter(0).addIcmpvFilter(0).addIcmpvFilter(0)
                        .addIcmpvFilter(0).addIcmpvFilter(0).addIcmpvFilter(7))));
        b.fd(PID, 6, icmp).fd(PID, 7, udp6).fd(PID, 8, icmp6);
        restore(b);

        assertEquals("127.0.0.14", InetAddr.parse(table.getsockname(6)).host());
        assertEquals(InetConst.IPPROTO_ICMP, InetAddr.parse(table.getsockname(6)).port(), "a raw socket's port is its protocol");
        byte[] filter = new byte[4];
        table.getsockopt(6, InetConst.SOL_RAW, InetConst.ICMP_FILTER, filter);
        assertEquals(0x2000, InetConst.intAt(filter, 0));
        assertEquals(1, opt(6, SOL_IP, InetConst.IP_NODEFRAG));
        assertEquals(32, opt(6, SOL_IP, InetConst.IP_TTL));
        assertEquals(3, opt(6, SOL_SOCKET, InetConst.SO_PRIORITY));
        assertEquals(1, opt(6, SOL_SOCKET, InetConst.SO_REUSEADDR));
        assertEquals(04000, table.fcntl(6, 3, 0) & 04000);
        assertEquals(1, opt(7, SOL_IPV6, InetConst.IPV6_HDRINCL));
        assertEquals(1, opt(7, SOL_IPV6, InetConst.IPV6_FREEBIND));
        assertEquals(1, opt(7, SOL_IPV6, InetConst.IPV6_RECVPKTINFO));
        byte[] f6 = new byte[32];
        table.getsockopt(8, InetConst.SOL_ICMPV6, InetConst.ICMPV6_FILTER, f6);
        assertEquals(0x2000, InetConst.intAt(f6, 0));
        assertEquals(7, InetConst.intAt(f6, 28));
    }

    @Test
    void aPingSocketWhereThePingGroupAllowsIt() throws Exception {
        int probe;
        try {
            probe = fdrestore.api.sys.Sys.socket(AF_INET, SOCK_DGRAM, InetConst.IPPROTO_ICMP);
        } catch (fdrestore.api.sys.SysException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false,
                    "ICMP datagram sockets are off for this group (net.ipv4.ping_group_range): " + e.getMessage());
            return;
        }
        fdrestore.api.sys.Sys.close(probe);
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long ping = b.socket(InetImageBuilder.sk(AF_INET, SOCK_DGRAM, InetConst.IPPROTO_ICMP, TCP_CLOSE, "0.0.0.0", 0,
                "0.0.0.0", 0).setOpts(InetImageBuilder.opts(212992, 212992).setReuseaddr(true).setSoRcvTmoSec(1)));
        b.fd(PID, 4, ping);
        restore(b);
        byte[] tv = new byte[16];
        table.getsockopt(4, SOL_SOCKET, InetConst.SO_RCVTIMEO, tv);
        assertEquals(1, InetConst.intAt(tv, 0), "SO_RCVTIMEO 1 s");
        byte[] proto = new byte[4];
        table.getsockopt(4, SOL_SOCKET, 38 /* SO_PROTOCOL */, proto);
        assertEquals(InetConst.IPPROTO_ICMP, InetConst.intAt(proto, 0));
    }

    // ---- port sharing -------------------------------------------------------------------------------

    @Test
    void twoListenersSharingAPortWithSoReuseport() throws Exception {
        int p = freePort();
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        for (int fd = 3; fd <= 4; fd++) {
            long f = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", p, "0.0.0.0", 0)
                    .setBacklog(4).setOpts(InetImageBuilder.opts(16384, 131072).setSoReuseport(true)));
            b.fd(PID, fd, f);
        }
        restore(b);
        for (int fd = 3; fd <= 4; fd++) {
            assertEquals("127.0.0.1:" + p, InetAddr.parse(table.getsockname(fd)).toString());
            assertEquals(1, opt(fd, SOL_SOCKET, InetConst.SO_REUSEPORT), "fd " + fd);
            assertEquals(0, opt(fd, SOL_SOCKET, InetConst.SO_REUSEADDR), "fd " + fd);
            assertEquals(1, opt(fd, SOL_SOCKET, InetConst.SO_ACCEPTCONN));
        }
    }

    @Test
    void aBoundSocketAndAListenerShareAPortThenGetTheirOwnOptionsBack() throws Exception {
        int p = freePort();
        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long bound = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_CLOSE, "0.0.0.0", p, "0.0.0.0", 0)
                .setOpts(InetImageBuilder.opts(16384, 131072).setReuseaddr(true)));
        long listener = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", p,
                "0.0.0.0", 0).setBacklog(3).setOpts(InetImageBuilder.opts(16384, 131072).setReuseaddr(true)));
        b.fd(PID, 3, listener).fd(PID, 4, bound);
        restore(b);
        assertEquals("127.0.0.1:" + p, InetAddr.parse(table.getsockname(3)).toString());
        assertEquals("0.0.0.0:" + p, InetAddr.parse(table.getsockname(4)).toString());
        for (int fd = 3; fd <= 4; fd++) {
            assertEquals(0, opt(fd, SOL_SOCKET, InetConst.SO_REUSEPORT), "forced SO_REUSEPORT undone on fd " + fd);
            assertEquals(1, opt(fd, SOL_SOCKET, InetConst.SO_REUSEADDR), "fd " + fd);
        }
        assertEquals(1, opt(3, SOL_SOCKET, InetConst.SO_ACCEPTCONN));
        assertEquals(0, opt(4, SOL_SOCKET, InetConst.SO_ACCEPTCONN));
    }

    // ---- faults -------------------------------------------------------------------------------------

    @Test
    void anAddressInUseNamesTheSocketAndLeavesNothingBehind() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int p = taken.getLocalPort();
            int free = freePort();
            InetImageBuilder b = new InetImageBuilder().task(PID, 0);
            long ok = b.socket(InetImageBuilder.sk(AF_INET, SOCK_DGRAM, IPPROTO_UDP, TCP_CLOSE, "127.0.0.1", free,
                    "0.0.0.0", 0));
            long clash = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", p,
                    "0.0.0.0", 0).setBacklog(1));
            b.fd(PID, 3, ok).fd(PID, 4, clash);
            Engine e = engine(b);
            RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
            assertTrue(x.getMessage().contains("tcp socket 127.0.0.1:" + p + " (listen, file " + clash + ")"), x.getMessage());
            assertTrue(x.getMessage().contains("already in use (EADDRINUSE), held by pid " + ProcessHandle.current().pid()),
                    "names who holds it: " + x.getMessage());
            assertTrue(x.getMessage().contains("fd 4"), x.getMessage());
            assertNoTemporaries();
            assertEquals(java.util.Map.of(), e.ownedTemporaries());
        }
    }

    // ---- established TCP ----------------------------------------------------------------------------

    /** What criu dump records of one end of an established connection, read here in repair mode. */
    private record Dumped(InetAddr src, InetAddr dst, byte[] message, byte[] inq) {
    }

    private Dumped dumpEnd(ExecutorTaskTable o, int fd, byte[] inq) throws Exception {
        InetAddr src = InetAddr.parse(o.getsockname(fd));
        InetAddr dst = InetAddr.parse(o.getpeername(fd));
        o.setsockopt(fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.intValue(1));
        byte[] v = new byte[4];
        o.setsockopt(fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.intValue(InetConst.TCP_RECV_QUEUE));
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, v);
        int inqSeq = InetConst.intAt(v, 0);
        o.setsockopt(fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.intValue(InetConst.TCP_SEND_QUEUE));
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, v);
        int outqSeq = InetConst.intAt(v, 0);
        byte[] info = new byte[232];
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_INFO, info);
        int optMask = info[5] & 255;
        int sndWscale = info[6] & 15;
        int rcvWscale = (info[6] >> 4) & 15;
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_MAXSEG, v);
        int mss = InetConst.intAt(v, 0);
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_TIMESTAMP, v);
        int ts = InetConst.intAt(v, 0);
        byte[] w = new byte[20];
        o.getsockopt(fd, SOL_TCP, InetConst.TCP_REPAIR_WINDOW, w);
        byte[] msg = InetImageBuilder.streamMessage(inq.length, inqSeq, 0, outqSeq, optMask, sndWscale, mss, rcvWscale,
                ts, null, null, 0, InetConst.intAt(w, 0), InetConst.intAt(w, 4), InetConst.intAt(w, 8),
                InetConst.intAt(w, 12), InetConst.intAt(w, 16));
        return new Dumped(src, dst, msg, inq);
    }

    private static InetSkEntry.Builder establishedEntry(InetAddr src, InetAddr dst) {
        InetSkEntry.Builder e = InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, src.host(),
                src.port(), dst.host(), dst.port());
        return e.setTcpOpts(TcpOptsEntry.newBuilder().setNodelay(true));
    }

    private void waitFor(ExecutorTaskTable t, int fd, long req, int want) throws Exception {
        for (int i = 0; i < 5000; i++) {
            if (ioctlInt(t, fd, req) == want) {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("ioctl 0x" + Long.toHexString(req) + " of fd " + fd + " never reached " + want);
    }

    private byte[] readN(int fd, int n) throws Exception {
        byte[] out = new byte[n];
        int off = 0;
        while (off < n) {
            int k = table.read(fd, out, off, n - off);
            assertTrue(k > 0, "read " + k + " after " + off + " of " + n);
            off += k;
        }
        return out;
    }

    @Test
    void anEstablishedLoopbackConnectionComesBackWithItsQueuedData() throws Exception {
        byte[] toSrv = "to-srv".getBytes(StandardCharsets.UTF_8);
        byte[] toCli = "to-cli".getBytes(StandardCharsets.UTF_8);
        Dumped server;
        Dumped client;
        int port;
        try (ExecutorTaskTable o = runtime.start(99, FLOOR)) {
            // The original: listener, client, accepted server side, 6 unread bytes each way, all acknowledged.
            int l = o.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
            o.bind(l, new InetAddr(AF_INET, new byte[] {127, 0, 0, 1}, 0, 0).sockaddr());
            o.listen(l, 8);
            port = InetAddr.parse(o.getsockname(l)).port();
            int c = o.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
            assertEquals(0, o.connect(c, new InetAddr(AF_INET, new byte[] {127, 0, 0, 1}, port, 0).sockaddr()));
            int s = acceptOne(o, l);
            assertEquals(6, o.write(s, toCli, 0, 6));
            assertEquals(6, o.write(c, toSrv, 0, 6));
            waitFor(o, c, FIONREAD, 6);
            waitFor(o, s, FIONREAD, 6);
            waitFor(o, c, SIOCOUTQ, 0);
            waitFor(o, s, SIOCOUTQ, 0);
            server = dumpEnd(o, s, toSrv);
            client = dumpEnd(o, c, toCli);
            // Closed in repair mode: no FIN, no RST, no TIME_WAIT.
            o.close(s);
            o.close(c);
            o.close(l);
        }

        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long lf = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", port,
                "0.0.0.0", 0).setBacklog(8));
        long sf = b.socket(establishedEntry(server.src, server.dst));
        long cf = b.socket(establishedEntry(client.src, client.dst).setFlags(02 | 04000));
        b.stream(sf, server.message, server.inq, new byte[0]);
        b.stream(cf, client.message, client.inq, new byte[0]);
        b.fd(PID, 3, lf).fd(PID, 5, sf).fd(PID, 6, cf);
        restore(b);

        assertEquals(server.src, InetAddr.parse(table.getsockname(5)));
        assertEquals(server.dst, InetAddr.parse(table.getpeername(5)));
        assertEquals(client.src, InetAddr.parse(table.getsockname(6)));
        assertEquals(client.dst, InetAddr.parse(table.getpeername(6)));
        assertEquals(0, opt(3, SOL_SOCKET, InetConst.SO_REUSEPORT), "the listener's forced SO_REUSEPORT is undone");
        assertEquals(0, opt(5, SOL_SOCKET, InetConst.SO_REUSEPORT));
        assertEquals(1, opt(5, SOL_TCP, InetConst.TCP_NODELAY));
        assertEquals(04000, table.fcntl(6, 3, 0) & 04000, "client side O_NONBLOCK");
        assertEquals(6, ioctlInt(table, 5, FIONREAD), "server side unread bytes");
        assertEquals(6, ioctlInt(table, 6, FIONREAD), "client side unread bytes");
        assertArrayEquals(toSrv, readN(5, 6));
        assertArrayEquals(toCli, readN(6, 6));

        // The connection works: data both ways, acknowledged.
        byte[] more = "after restore".getBytes(StandardCharsets.UTF_8);
        assertEquals(more.length, table.send(6, more, 0, more.length, new int[0], 0));
        assertArrayEquals(more, readN(5, more.length));
        assertEquals(more.length, table.send(5, more, 0, more.length, new int[0], 0));
        waitFor(table, 6, FIONREAD, more.length);
        assertArrayEquals(more, readN(6, more.length));
        waitFor(table, 5, SIOCOUTQ, 0);

        // And the restored listener still accepts.
        try (SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
            ch.write(ByteBuffer.wrap(more));
            int a = acceptOne(table, 3);
            table.close(a);
        }
    }
}
