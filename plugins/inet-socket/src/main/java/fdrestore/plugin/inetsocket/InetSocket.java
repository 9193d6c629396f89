package fdrestore.plugin.inetsocket;

import java.util.List;
import java.util.Objects;

/**
 * Everything the restore of one inet socket description needs, decided before any syscall.
 *
 * @param fileId       the description (FdinfoEntry.id)
 * @param ino          the socket's inode in the dumped tree (names tcp-stream-INO.img)
 * @param src          the bound address, or null when the socket was not bound
 * @param dst          the peer address, or null when not connected
 * @param flags        file status flags (O_NONBLOCK ...)
 * @param v6only       IPV6_V6ONLY of an IPv6 socket
 * @param options      setsockopt calls, in order (without SO_REUSEADDR/SO_REUSEPORT)
 * @param reuseaddr    the image's SO_REUSEADDR
 * @param reuseport    the image's SO_REUSEPORT
 * @param shutdown     CRIU's sk_shutdown bits (1 read, 2 write)
 * @param signum       F_SETSIG signal, 0 for none
 * @param stream       the repair state of an established TCP socket, else null
 * @param portUsers    the other descriptions bound to the same protocol and port (they bind with
 *                     SO_REUSEADDR/SO_REUSEPORT forced; each restores its own values once all are bound)
 * @param streamPeer   the description at the other end of an established TCP connection, when it is in
 *                     the images too (repair mode is left once it is connected), else -1
 */
record InetSocket(long fileId, long ino, int family, int type, int proto, int state, InetAddr src, InetAddr dst,
        int flags, int backlog, boolean v6only, List<SockOpt> options, boolean reuseaddr, boolean reuseport,
        int shutdown, int signum, TcpStream stream, List<Long> portUsers, long streamPeer) {

    InetSocket {
        options = List.copyOf(options);
        portUsers = List.copyOf(portUsers);
        Objects.requireNonNull(options);
    }

    boolean tcp() {
        return type == InetConst.SOCK_STREAM;
    }

    /** A raw socket (any protocol; the images keep the protocol in src_port too). */
    boolean raw() {
        return type == InetConst.SOCK_RAW;
    }

    /** A UDP or UDP-Lite datagram socket: the kinds that share ports with SO_REUSEADDR and can shut down. */
    boolean udp() {
        return isUdp(type, proto);
    }

    static boolean isUdp(int type, int proto) {
        return type == InetConst.SOCK_DGRAM && (proto == InetConst.IPPROTO_UDP || proto == InetConst.IPPROTO_UDPLITE);
    }

    /** An ICMP datagram ("ping") socket: SOCK_DGRAM with IPPROTO_ICMP (IPv4) or IPPROTO_ICMPV6 (IPv6). */
    static boolean isPing(int family, int type, int proto) {
        return type == InetConst.SOCK_DGRAM && (family == InetConst.AF_INET ? proto == InetConst.IPPROTO_ICMP
                : proto == InetConst.IPPROTO_ICMPV6);
    }

    boolean listening() {
        return tcp() && state == InetConst.TCP_LISTEN;
    }

    /** A TCP connection (established or half closed), restored in repair mode. */
    boolean established() {
        return tcp() && isConnection(state);
    }

    /** The TCP states of a connection that repair mode restores from a tcp-stream image. */
    static boolean isConnection(int state) {
        return switch (state) {
            case InetConst.TCP_ESTABLISHED, InetConst.TCP_CLOSE_WAIT, InetConst.TCP_FIN_WAIT1, InetConst.TCP_FIN_WAIT2,
                    InetConst.TCP_CLOSING, InetConst.TCP_LAST_ACK -> true;
            default -> false;
        };
    }

    /** Whether this side has sent its FIN in TCP state {@code state} (it goes in the send queue first). */
    static boolean finSent(int state) {
        return state == InetConst.TCP_FIN_WAIT1 || state == InetConst.TCP_FIN_WAIT2 || state == InetConst.TCP_CLOSING
                || state == InetConst.TCP_LAST_ACK;
    }

    /** Whether the peer's FIN was received in TCP state {@code state}. */
    static boolean finReceived(int state) {
        return state == InetConst.TCP_CLOSE_WAIT || state == InetConst.TCP_LAST_ACK || state == InetConst.TCP_CLOSING;
    }

    /** The sk_shutdown bits that TCP state {@code state} sets by itself (a FIN received: read; sent: write). */
    static int impliedShutdown(int state) {
        return (finReceived(state) ? InetConst.SK_SHUTDOWN_READ : 0) | (finSent(state) ? InetConst.SK_SHUTDOWN_WRITE : 0);
    }

    /** A connected datagram or raw socket. */
    boolean udpConnected() {
        return !tcp() && dst != null;
    }

    boolean binds() {
        return src != null;
    }

    /** Whether it must wait for the other users of its port before its own SO_REUSEADDR/PORT go back. */
    boolean waitsForPortUsers() {
        return binds() && !portUsers.isEmpty() && !(reuseaddr && reuseport);
    }

    /** The condition this description signals once it is bound. */
    static String boundCondition(long fileId) {
        return "inet-bound:" + fileId;
    }

    /** The condition an established TCP description signals once it is connected in repair mode. */
    static String repairedCondition(long fileId) {
        return "inet-repaired:" + fileId;
    }

    static String stateName(int type, int state) {
        if (type != InetConst.SOCK_STREAM) {
            return state == InetConst.TCP_ESTABLISHED ? "connected" : state == InetConst.TCP_CLOSE ? "unconnected"
                    : "state " + state;
        }
        return switch (state) {
            case 1 -> "established";
            case 2 -> "syn-sent";
            case 3 -> "syn-recv";
            case 4 -> "fin-wait1";
            case 5 -> "fin-wait2";
            case 6 -> "time-wait";
            case 7 -> "close";
            case 8 -> "close-wait";
            case 9 -> "last-ack";
            case 10 -> "listen";
            case 11 -> "closing";
            default -> "state " + state;
        };
    }

    /**
     * "tcp6 socket [::1]:40124 (listen)", "udp socket 127.0.0.1:5000 -> 127.0.0.1:6000 (connected)",
     * "raw6 socket [::] protocol 17 (unconnected)", "icmp socket 0.0.0.0:0 (unconnected)".
     */
    static String describe(int family, int type, int proto, int state, InetAddr src, InetAddr dst, long fileId) {
        boolean raw = type == InetConst.SOCK_RAW;
        String p = raw ? "raw" : type == InetConst.SOCK_STREAM && proto == InetConst.IPPROTO_TCP ? "tcp"
                : isUdp(type, proto) ? (proto == InetConst.IPPROTO_UDP ? "udp" : "udplite")
                : isPing(family, type, proto) ? "icmp" : "type " + type + " protocol " + proto;
        StringBuilder sb = new StringBuilder(p).append(family == InetConst.AF_INET6 ? "6" : "").append(" socket ");
        if (raw) {
            sb.append(src != null ? src.host() : "(unbound)").append(" protocol ").append(proto);
        } else {
            sb.append(src != null ? src.toString() : "(unbound)");
        }
        if (dst != null) {
            sb.append(" -> ").append(raw ? dst.host() : dst.toString());
        }
        return sb.append(" (").append(stateName(type, state)).append(", file ").append(fileId).append(')').toString();
    }

    String what() {
        return describe(family, type, proto, state, src, dst, fileId);
    }

    @Override
    public String toString() {
        return what();
    }
}
