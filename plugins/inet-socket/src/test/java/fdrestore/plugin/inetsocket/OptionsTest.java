package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_UDP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_DGRAM;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;
import static fdrestore.plugin.inetsocket.InetConst.TCP_CLOSE;
import static fdrestore.plugin.inetsocket.InetConst.TCP_LISTEN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.TcpOptsEntry;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.Samples;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The setsockopt calls planned from image options, and how one is applied (fallbacks, optional ones). */
class OptionsTest {
    private static Optional<SockOpt> find(List<SockOpt> l, int level, int name) {
        return l.stream().filter(o -> o.level() == level && o.name() == name).findFirst();
    }

    private static int value(List<SockOpt> l, int level, int name) {
        return find(l, level, name).orElseThrow(() -> new AssertionError("no option " + level + "/" + name + " in " + l))
                .intValue();
    }

    @Test
    void hTcpListenerOptionsWithBuffersHalved() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        InetSkEntry e = images.file(5).orElseThrow().getIsk();
        List<SockOpt> l = Options.of(e);
        // The image holds getsockopt's values (doubled by the kernel): half goes into setsockopt.
        SockOpt snd = find(l, SOL_SOCKET, InetConst.SO_SNDBUFFORCE).orElseThrow();
        assertEquals(8192, snd.intValue());
        assertEquals(InetConst.SO_SNDBUF, snd.fallbackName());
        assertEquals(65536, value(l, SOL_SOCKET, InetConst.SO_RCVBUFFORCE));
        SockOpt lock = find(l, SOL_SOCKET, InetConst.SO_BUF_LOCK).orElseThrow();
        assertEquals(0, lock.intValue());
        assertTrue(lock.optional(), "SO_BUF_LOCK=0 is the default: skipped on kernels without it");
        assertEquals(64, value(l, InetConst.SOL_IP, InetConst.IP_TTL));
        assertEquals(9, value(l, SOL_TCP, InetConst.TCP_KEEPCNT));
        assertEquals(7200, value(l, SOL_TCP, InetConst.TCP_KEEPIDLE));
        assertEquals(75, value(l, SOL_TCP, InetConst.TCP_KEEPINTVL));
        assertEquals(1, value(l, SOL_SOCKET, InetConst.SO_RCVLOWAT));
        assertEquals(0, value(l, SOL_SOCKET, InetConst.SO_KEEPALIVE));
        assertTrue(find(l, SOL_SOCKET, InetConst.SO_REUSEADDR).isEmpty(), "reuse options are handled by the restorer");
        assertTrue(find(l, SOL_SOCKET, InetConst.SO_SNDTIMEO).isEmpty(), "zero timeouts are the default");
        // IP_TOS sets the priority too: IP options come before SO_PRIORITY.
        int ttl = l.indexOf(find(l, InetConst.SOL_IP, InetConst.IP_TTL).orElseThrow());
        int prio = l.indexOf(find(l, SOL_SOCKET, InetConst.SO_PRIORITY).orElseThrow());
        assertTrue(ttl < prio, l.toString());
    }

    @Test
    void keepaliveTuningFromOldImagesAndTcpOptsWins() {
        InetSkEntry.Builder b = InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 1, "0.0.0.0", 0);
        b.setOpts(InetImageBuilder.opts(16384, 131072).setTcpKeepcnt(3).setTcpKeepidle(30).setTcpKeepintvl(5));
        List<SockOpt> old = Options.of(b.build());
        assertEquals(3, value(old, SOL_TCP, InetConst.TCP_KEEPCNT));
        assertEquals(30, value(old, SOL_TCP, InetConst.TCP_KEEPIDLE));
        b.setTcpOpts(TcpOptsEntry.newBuilder().setKeepcnt(8).setCork(true));
        List<SockOpt> both = Options.of(b.build());
        assertEquals(8, value(both, SOL_TCP, InetConst.TCP_KEEPCNT));
        assertEquals(30, value(both, SOL_TCP, InetConst.TCP_KEEPIDLE));
        assertEquals(1, value(both, SOL_TCP, InetConst.TCP_CORK));
    }

    @Test
    void udpGetsNoTcpOptionsAndStructuredOptionsAreRaw() {
        InetSkEntry.Builder b = InetImageBuilder.sk(AF_INET, SOCK_DGRAM, IPPROTO_UDP, TCP_CLOSE, "127.0.0.1", 1, "0.0.0.0", 0);
        b.setOpts(InetImageBuilder.opts(212992, 212992).setTcpKeepcnt(3).setSoLinger(7).setSoRcvTmoSec(1)
                .setSoRcvTmoUsec(250).setSoBoundDev("lo"));
        b.setTcpOpts(TcpOptsEntry.newBuilder().setNodelay(true)).setIpOpts(IpOptsEntry.newBuilder().setTos(8));
        List<SockOpt> l = Options.of(b.build());
        assertTrue(l.stream().noneMatch(o -> o.level() == SOL_TCP), l.toString());
        assertArrayEquals(new byte[] {1, 0, 0, 0, 7, 0, 0, 0}, find(l, SOL_SOCKET, InetConst.SO_LINGER).orElseThrow().value());
        byte[] tv = find(l, SOL_SOCKET, InetConst.SO_RCVTIMEO).orElseThrow().value();
        assertEquals(16, tv.length);
        assertEquals(1, InetConst.intAt(tv, 0));
        assertEquals(250, InetConst.intAt(tv, 8));
        assertArrayEquals("lo".getBytes(), find(l, SOL_SOCKET, InetConst.SO_BINDTODEVICE).orElseThrow().value());
        assertEquals(8, value(l, InetConst.SOL_IP, InetConst.IP_TOS));
        assertNull(Options.unsupported(b.build()));
        assertTrue(Options.unsupported(b.setOpts(InetImageBuilder.opts(1, 1).addSoFilter(0x1234L)).build())
                .contains("SO_ATTACH_FILTER"));
    }

    @Test
    void forcedBufferSizesFallBackWithoutCapNetAdmin() throws Exception {
        TaskTable t = mock(TaskTable.class);
        doThrow(new SysException("setsockopt", Errno.EPERM)).when(t)
                .setsockopt(eq(5), eq(SOL_SOCKET), eq(InetConst.SO_SNDBUFFORCE), any());
        SockOpt o = new SockOpt(SOL_SOCKET, InetConst.SO_SNDBUFFORCE, InetConst.intValue(8192), "SO_SNDBUF", InetConst.SO_SNDBUF, false);
        o.apply(t, 5);
        verify(t).setsockopt(5, SOL_SOCKET, InetConst.SO_SNDBUF, InetConst.intValue(8192));
    }

    @Test
    void optionalOptionsAreSkippedOnOldKernelsAndOthersFail() throws Exception {
        TaskTable t = mock(TaskTable.class);
        doThrow(new SysException("setsockopt", SockOpt.ENOPROTOOPT)).when(t).setsockopt(anyInt(), anyInt(), anyInt(), any());
        new SockOpt(SOL_SOCKET, InetConst.SO_BUF_LOCK, InetConst.intValue(0), "SO_BUF_LOCK=0", 0, true).apply(t, 3);
        SysException x = assertThrows(SysException.class,
                () -> SockOpt.ofInt(SOL_SOCKET, InetConst.SO_BUF_LOCK, 3, "SO_BUF_LOCK").apply(t, 3));
        assertEquals(SockOpt.ENOPROTOOPT, x.errno());
        SysException eperm = new SysException("setsockopt", Errno.EPERM);
        TaskTable t2 = mock(TaskTable.class);
        doThrow(eperm).when(t2).setsockopt(anyInt(), anyInt(), anyInt(), any());
        assertSame(eperm, assertThrows(SysException.class,
                () -> SockOpt.ofInt(SOL_SOCKET, InetConst.SO_MARK, 3, "SO_MARK").apply(t2, 3)));
    }
}
