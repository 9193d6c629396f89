package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SockDiag against the kernel: a dump of unix sockets finds a socketpair made here, with its peer. */
class SockDiagTest {
    @Test
    void aUnixDumpSeesBothEndsOfASocketpairAsPeers() throws Exception {
        int[] sp = Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        try {
            long a = Sys.fstat(sp[0]).ino();
            long b = Sys.fstat(sp[1]).ino();
            byte[] req = new byte[24]; // struct unix_diag_req
            req[0] = (byte) Linux.AF_UNIX;
            SockDiag.putInt(req, 4, -1); // every state
            SockDiag.putInt(req, 12, 4); // UDIAG_SHOW_PEER
            Map<Long, Long> peers = new HashMap<>();
            SockDiag.dump("sock_diag(unix)", req, 16, (buf, at, end) -> {
                long ino = Integer.toUnsignedLong(SockDiag.intAt(buf, at + 4));
                int attr = at + 16; // the one attribute asked for: UNIX_DIAG_PEER, a u32
                peers.put(ino, end >= attr + 8 ? Integer.toUnsignedLong(SockDiag.intAt(buf, attr + 4)) : -1L);
            });
            assertTrue(peers.size() >= 2, peers.toString());
            assertEquals(b, peers.get(a));
            assertEquals(a, peers.get(b));
        } finally {
            Sys.closeQuietly(sp[0]);
            Sys.closeQuietly(sp[1]);
        }
    }

    @Test
    void littleEndianHelpersRoundTrip() {
        byte[] b = new byte[6];
        SockDiag.putInt(b, 1, 0x80402010);
        assertArrayEquals(new byte[] {0, 0x10, 0x20, 0x40, (byte) 0x80, 0}, b);
        assertEquals(0x80402010, SockDiag.intAt(b, 1));
    }
}
