package fdrestore.plugin.inetsocket;

/**
 * The socket-level constants of this plugin (x86-64 Linux values, checked against
 * {@code <asm-generic/socket.h>}, {@code <linux/in.h>}, {@code <linux/in6.h>} and {@code <linux/tcp.h>}).
 */
final class InetConst {
    private InetConst() {
    }

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_STREAM = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_RAW = 3;
    static final int IPPROTO_ICMP = 1;
    static final int IPPROTO_TCP = 6;
    static final int IPPROTO_UDP = 17;
    static final int IPPROTO_ICMPV6 = 58;
    static final int IPPROTO_UDPLITE = 136;
    static final int IPPROTO_RAW = 255;
    /** One past the highest protocol number socket(2) accepts (include/uapi/linux/in.h, with MPTCP 262). */
    static final int IPPROTO_MAX = 263;

    // TCP states as the images record them (include/net/tcp_states.h)
    static final int TCP_ESTABLISHED = 1;
    static final int TCP_SYN_SENT = 2;
    static final int TCP_FIN_WAIT1 = 4;
    static final int TCP_FIN_WAIT2 = 5;
    static final int TCP_CLOSE = 7;
    static final int TCP_CLOSE_WAIT = 8;
    static final int TCP_LAST_ACK = 9;
    static final int TCP_LISTEN = 10;
    static final int TCP_CLOSING = 11;

    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_DONTROUTE = 5;
    static final int SO_BROADCAST = 6;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_KEEPALIVE = 9;
    static final int SO_OOBINLINE = 10;
    static final int SO_NO_CHECK = 11;
    static final int SO_PRIORITY = 12;
    static final int SO_LINGER = 13;
    static final int SO_REUSEPORT = 15;
    static final int SO_PASSCRED = 16;
    static final int SO_RCVLOWAT = 18;
    static final int SO_RCVTIMEO = 20;
    static final int SO_SNDTIMEO = 21;
    static final int SO_BINDTODEVICE = 25;
    static final int SO_ACCEPTCONN = 30;
    static final int SO_SNDBUFFORCE = 32;
    static final int SO_RCVBUFFORCE = 33;
    static final int SO_PASSSEC = 34;
    static final int SO_MARK = 36;
    static final int SO_BUF_LOCK = 72;

    static final int SOL_IP = 0;
    static final int IP_TOS = 1;
    static final int IP_TTL = 2;
    static final int IP_HDRINCL = 3;
    static final int IP_PKTINFO = 8;
    static final int IP_FREEBIND = 15;
    static final int IP_NODEFRAG = 22;

    static final int SOL_IPV6 = 41;
    static final int IPV6_V6ONLY = 26;
    static final int IPV6_HDRINCL = 36;
    static final int IPV6_RECVPKTINFO = 49;
    static final int IPV6_FREEBIND = 78;

    /** ICMP_FILTER of a raw IPv4 ICMP socket (struct icmp_filter: one u32). */
    static final int SOL_RAW = 255;
    static final int ICMP_FILTER = 1;
    /** ICMPV6_FILTER of a raw ICMPv6 socket (struct icmp6_filter: eight u32). */
    static final int SOL_ICMPV6 = 58;
    static final int ICMPV6_FILTER = 1;

    static final int SOL_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int TCP_MAXSEG = 2;
    static final int TCP_CORK = 3;
    static final int TCP_KEEPIDLE = 4;
    static final int TCP_KEEPINTVL = 5;
    static final int TCP_KEEPCNT = 6;
    static final int TCP_INFO = 11;
    static final int TCP_REPAIR = 19;
    static final int TCP_REPAIR_QUEUE = 20;
    static final int TCP_QUEUE_SEQ = 21;
    static final int TCP_REPAIR_OPTIONS = 22;
    static final int TCP_TIMESTAMP = 24;
    static final int TCP_REPAIR_WINDOW = 29;

    /** TCP_REPAIR values. */
    static final int TCP_REPAIR_ON = 1;
    static final int TCP_REPAIR_OFF = 0;
    /** TCP_REPAIR_QUEUE values. */
    static final int TCP_RECV_QUEUE = 1;
    static final int TCP_SEND_QUEUE = 2;

    /** TCP option kinds for TCP_REPAIR_OPTIONS. */
    static final int TCPOPT_MAXSEG = 2;
    static final int TCPOPT_WINDOW = 3;
    static final int TCPOPT_SACK_PERM = 4;
    static final int TCPOPT_TIMESTAMP = 8;

    /** tcp_info.tcpi_options bits, as TcpStreamEntry.opt_mask records them. */
    static final int TCPI_OPT_TIMESTAMPS = 1;
    static final int TCPI_OPT_SACK = 2;
    static final int TCPI_OPT_WSCALE = 4;

    /** shutdown(2) how. */
    static final int SHUT_RD = 0;
    static final int SHUT_WR = 1;
    static final int SHUT_RDWR = 2;
    /** CRIU's sk_shutdown bits. */
    static final int SK_SHUTDOWN_READ = 1;
    static final int SK_SHUTDOWN_WRITE = 2;

    static final int F_SETFL = 4;
    static final int F_SETOWN = 8;
    static final int F_SETSIG = 10;

    /** A native-endian (little-endian) C int. */
    static byte[] intValue(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    /** Reads a little-endian u32 at {@code off}. */
    static int intAt(byte[] b, int off) {
        return fdrestore.api.sys.SockDiag.intAt(b, off);
    }

    static void putInt(byte[] b, int off, int v) {
        fdrestore.api.sys.SockDiag.putInt(b, off, v);
    }

    static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) v);
        putInt(b, off + 4, (int) (v >>> 32));
    }
}
