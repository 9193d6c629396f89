package fdrestore.plugin.inetsocket;

/**
 * One bare TCP segment (no options, no data) with its IPv4 or IPv6 header, as a raw socket with the
 * header included sends it: how the peer's FIN and acknowledgement of a half-closed connection are put
 * back (criu's libsoccr sends the same segments with libnet). The TCP checksum is computed here; the
 * kernel fills the IPv4 header checksum and id.
 */
final class TcpSegment {
    static final int FIN = 0x01;
    static final int ACK = 0x10;
    private static final int TCP_HEADER = 20;

    private TcpSegment() {
    }

    /** The packet from {@code from} to {@code to}: IP header, then the TCP header. */
    static byte[] packet(InetAddr from, InetAddr to, int seq, int ack, int flags, int window) {
        boolean v6 = from.family() == InetConst.AF_INET6;
        int ipLen = v6 ? 40 : 20;
        byte[] p = new byte[ipLen + TCP_HEADER];
        byte[] src = from.addr();
        byte[] dst = to.addr();
        if (v6) {
            p[0] = 0x60;
            p[4] = 0;
            p[5] = TCP_HEADER;
            p[6] = (byte) InetConst.IPPROTO_TCP;
            p[7] = 64;
            System.arraycopy(src, 0, p, 8, 16);
            System.arraycopy(dst, 0, p, 24, 16);
        } else {
            p[0] = 0x45;
            p[2] = 0;
            p[3] = (byte) (ipLen + TCP_HEADER);
            p[6] = 0x40; // don't fragment
            p[8] = 64;
            p[9] = (byte) InetConst.IPPROTO_TCP;
            System.arraycopy(src, 0, p, 12, 4);
            System.arraycopy(dst, 0, p, 16, 4);
        }
        int t = ipLen;
        putShort(p, t, from.port());
        putShort(p, t + 2, to.port());
        putIntBe(p, t + 4, seq);
        putIntBe(p, t + 8, ack);
        p[t + 12] = (byte) ((TCP_HEADER / 4) << 4);
        p[t + 13] = (byte) flags;
        putShort(p, t + 14, window);
        putShort(p, t + 16, checksum(src, dst, p, t));
        return p;
    }

    /** The TCP checksum over the pseudo-header and the segment at {@code p[off..]}. */
    static int checksum(byte[] src, byte[] dst, byte[] p, int off) {
        long sum = 0;
        sum += words(src, 0, src.length);
        sum += words(dst, 0, dst.length);
        sum += InetConst.IPPROTO_TCP;
        sum += p.length - off;
        sum += words(p, off, p.length - off);
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long words(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += (b[off + i] & 255) << 8 | (b[off + i + 1] & 255);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 255) << 8;
        }
        return sum;
    }

    private static void putShort(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    private static void putIntBe(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static String flagNames(int flags) {
        return (flags & FIN) != 0 ? ((flags & ACK) != 0 ? "FIN|ACK" : "FIN") : "ACK";
    }
}
