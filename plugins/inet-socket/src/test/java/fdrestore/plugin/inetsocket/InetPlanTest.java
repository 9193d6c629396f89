package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.AF_INET6;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.TCP_ESTABLISHED;
import static fdrestore.plugin.inetsocket.InetConst.TCP_LISTEN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.IpOptsRawEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.api.spi.PlanException;
import fdrestore.testkit.Samples;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning from images, before any syscall: what is restored, what is refused and why. */
class InetPlanTest {
    @TempDir
    Path tmp;

    private static InetSocket plan(ImageSet images, long id) throws PlanException {
        return InetKind.socket(Fixtures.file(images, id), Fixtures.planContext(images));
    }

    @Test
    void hTcpSample() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        InetSocket v4 = plan(images, 5);
        assertEquals("127.0.0.1:40123", v4.src().toString());
        assertTrue(v4.listening());
        assertEquals(8, v4.backlog());
        assertTrue(v4.reuseaddr());
        assertFalse(v4.reuseport());
        assertEquals(List.of(), v4.portUsers());
        assertNull(v4.dst());
        assertEquals("tcp socket 127.0.0.1:40123 (listen, file 5)", v4.what());
        InetSocket v6 = plan(images, 6);
        assertEquals("[::1]:40124", v6.src().toString());
        assertTrue(v6.v6only());
        assertEquals(AF_INET6, v6.family());
        assertEquals(02, v6.flags());
    }

    private InetImageBuilder connection(boolean withStreams) throws Exception {
        InetImageBuilder b = new InetImageBuilder().task(1, 0).task(2, 1);
        long l = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 5000, "0.0.0.0", 0));
        long s = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 5000,
                "127.0.0.1", 41000));
        long c = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 41000,
                "127.0.0.1", 5000));
        long unused = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 5000,
                "0.0.0.0", 0));
        assertEquals(4, unused);
        b.fd(1, 3, l).fd(1, 4, s).fd(2, 3, c);
        if (withStreams) {
            byte[] m = InetImageBuilder.streamMessage(2, 1000, 3, 2000, 4, 7, 65483, 7, null, null, null, 1,
                    900, 65535, 65535, 65536, 1000);
            b.stream(s, m, new byte[] {1, 2}, new byte[] {3, 4, 5});
            b.stream(c, InetImageBuilder.streamMessage(0, 2000, 0, 1000, 0, 0, 1460), new byte[0], new byte[0]);
        }
        return b;
    }

    @Test
    void portUsersAndConnectionPeersCountOnlyRestoredDescriptions() throws Exception {
        ImageSet images = ImageSet.open(connection(true).write(tmp));
        InetSocket l = plan(images, 1);
        InetSocket s = plan(images, 2);
        InetSocket c = plan(images, 3);
        assertEquals(List.of(2L), l.portUsers(), "file 4 has no fd: it is not a user of port 5000");
        assertEquals(List.of(1L), s.portUsers());
        assertEquals(List.of(), c.portUsers());
        assertTrue(l.waitsForPortUsers());
        assertEquals(3, s.streamPeer());
        assertEquals(2, c.streamPeer());
        assertEquals(-1, l.streamPeer());
        assertTrue(s.established());
        assertEquals("127.0.0.1:41000", s.dst().toString());

        TcpStream st = s.stream();
        assertEquals(2, st.inqLen());
        assertEquals(1000, st.inqSeq());
        assertEquals(3, st.outqLen());
        assertEquals(1, st.unsqLen());
        assertEquals(2, st.sentLen());
        assertArrayEquals(new byte[] {1, 2}, st.inq());
        assertArrayEquals(new byte[] {3, 4, 5}, st.outq());
        // Window fields by CRIU's numbers (13 snd_wl1 .. 17 rcv_wup).
        assertTrue(st.hasWindow());
        assertEquals(900, st.sndWl1());
        assertEquals(65535, st.sndWnd());
        assertEquals(65535, st.maxWindow());
        assertEquals(65536, st.rcvWnd());
        assertEquals(1000, st.rcvWup());
        assertFalse(c.stream().hasWindow());
        // wscale, then sack-less options with the mss last.
        byte[] ro = InetRestorer.repairOptions(st);
        assertEquals(16, ro.length);
        assertEquals(InetConst.TCPOPT_WINDOW, InetConst.intAt(ro, 0));
        assertEquals(7 + (7 << 16), InetConst.intAt(ro, 4));
        assertEquals(InetConst.TCPOPT_MAXSEG, InetConst.intAt(ro, 8));
        assertEquals(65483, InetConst.intAt(ro, 12));
    }

    @Test
    void anEstablishedConnectionWithoutItsStreamImageIsRefusedByName() throws Exception {
        ImageSet images = ImageSet.open(connection(false).write(tmp));
        PlanException x = assertThrows(PlanException.class, () -> plan(images, 2));
        int ino = images.file(2).orElseThrow().getIsk().getIno();
        assertTrue(x.getMessage().contains("tcp-stream-" + Long.toHexString(ino) + ".img"), x.getMessage());
        assertTrue(x.getMessage().contains("127.0.0.1:5000 -> 127.0.0.1:41000"), x.getMessage());
    }

    @Test
    void unsupportedStatesOwnersAndShutdownsAreRefused() throws Exception {
        InetImageBuilder b = new InetImageBuilder().task(1, 0);
        long synSent = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, 2, "127.0.0.1", 41000, "127.0.0.1", 80));
        long owned = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 41001, "0.0.0.0", 0)
                .setFown(FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(29).setPidType(1).setPid(1)));
        long seqpacket = b.socket(InetImageBuilder.sk(AF_INET, 5, 132, 7, "0.0.0.0", 0, "0.0.0.0", 0));
        long rawProto = b.socket(InetImageBuilder.sk(AF_INET6, 3, 70000, 7, "::", 70000, "::", 0));
        long rawListen = b.socket(InetImageBuilder.sk(AF_INET, 3, 1, TCP_LISTEN, "0.0.0.0", 1, "0.0.0.0", 0));
        long rawFilter = b.socket(InetImageBuilder.sk(AF_INET6, 3, 58, 7, "::", 58, "::", 0)
                .setIpOpts(IpOptsEntry.newBuilder().setRaw(IpOptsRawEntry.newBuilder().addIcmpvFilter(1))));
        long udpFilter = b.socket(InetImageBuilder.sk(AF_INET, 2, 17, 7, "0.0.0.0", 0, "0.0.0.0", 0)
                .setIpOpts(IpOptsEntry.newBuilder().setRaw(IpOptsRawEntry.newBuilder().setHdrincl(true))));
        long badShutdown = b.socket(InetImageBuilder.sk(AF_INET, 2, 17, 7, "0.0.0.0", 0, "0.0.0.0", 0).setShutdown(4));
        long halfClosed = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1",
                41002, "127.0.0.1", 80).setShutdown(2));
        b.fd(1, 3, synSent).fd(1, 4, owned).fd(1, 5, seqpacket).fd(1, 6, halfClosed).fd(1, 7, rawProto).fd(1, 8, rawListen)
                .fd(1, 9, rawFilter).fd(1, 10, udpFilter).fd(1, 11, badShutdown);
        ImageSet images = ImageSet.open(b.write(tmp));
        assertTrue(assertThrows(PlanException.class, () -> plan(images, synSent)).getMessage()
                .contains("TCP state syn-sent cannot be restored"));
        PlanException fown = assertThrows(PlanException.class, () -> plan(images, owned));
        assertTrue(fown.getMessage().contains(InetKind.FOWN_OPTION + "=ignore"), fown.getMessage());
        InetSocket ignored = InetKind.socket(Fixtures.file(images, owned),
                Fixtures.planContext(images, Map.of(InetKind.FOWN_OPTION, "ignore")));
        assertEquals(29, ignored.signum());
        assertRefused(images, seqpacket, "inet socket of type 5 protocol 132 is not one fdrestore restores");
        assertRefused(images, rawProto, "raw inet socket of protocol 70000 (protocols are 0..262)");
        assertRefused(images, rawListen, "raw socket in state 10");
        assertRefused(images, rawFilter, "an ICMP filter (icmpv_filter) of 1 words (icmp6_filter has 8)");
        assertRefused(images, udpFilter, "raw socket options (IpOptsRawEntry) on a socket of type 2");
        assertRefused(images, badShutdown, "shutdown 4 is not one of");
        assertTrue(assertThrows(PlanException.class, () -> plan(images, halfClosed)).getMessage()
                .contains("shut down for writing"));
    }

    private void assertRefused(ImageSet images, long file, String message) {
        PlanException x = assertThrows(PlanException.class, () -> plan(images, file));
        assertTrue(x.getMessage().contains(message), x.getMessage());
        assertTrue(x.getMessage().contains("file " + file), x.getMessage());
    }

    @Test
    void aStreamPayloadThatDoesNotMatchItsLengthsIsRefused() throws Exception {
        TcpStreamEntry m = TcpStreamEntry.parseFrom(InetImageBuilder.streamMessage(2, 1, 0, 1, 0, 0, 1460));
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> TcpStream.parse(m, new byte[3]));
        assertTrue(x.getMessage().contains("expected inq_len 2 + outq_len 0"), x.getMessage());
    }

    @Test
    void addressesRoundTripAndPrintLikeTheTools() {
        InetAddr a = InetAddr.of(AF_INET6, List.of(0x000080fe, 0, 0x33221100, 0x77665544), 8080, 2);
        assertEquals("[fe80::11:2233:4455:6677%2]:8080", a.toString());
        assertTrue(a.isLinkLocal());
        assertEquals(a, InetAddr.parse(a.sockaddr()));
        assertEquals(28, a.sockaddr().length);
        InetAddr v4 = InetAddr.of(AF_INET, List.of(0x0100007f), 40123, 0);
        assertEquals("127.0.0.1:40123", v4.toString());
        assertArrayEquals(new byte[] {2, 0, (byte) 0x9c, (byte) 0xbb, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, v4.sockaddr());
        assertEquals("[::]:0", InetAddr.of(AF_INET6, List.of(), 0, 0).toString());
        assertEquals("[1::1]:1", InetAddr.of(AF_INET6, List.of(0x00000100, 0, 0, 0x01000000), 1, 0).toString());
    }
}
