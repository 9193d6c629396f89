package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.IP_FREEBIND;
import static fdrestore.plugin.inetsocket.InetConst.IP_PKTINFO;
import static fdrestore.plugin.inetsocket.InetConst.IP_TOS;
import static fdrestore.plugin.inetsocket.InetConst.IP_TTL;
import static fdrestore.plugin.inetsocket.InetConst.SOL_IP;
import static fdrestore.plugin.inetsocket.InetConst.SOL_IPV6;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;

import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.IpOptsRawEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TcpOptsEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The socket options of one image entry, as the list of setsockopt calls that bring them back (CRIU's
 * restore_socket_opts, restore_ip_opts and the TCP options), in the order they are applied. SO_REUSEADDR
 * and SO_REUSEPORT are not in the list: they are forced while the port's users bind and set to the
 * image's values afterwards (see {@link InetRestorer}).
 *
 * <p>Buffer sizes: the images hold what getsockopt returned, which is twice what setsockopt was given
 * (the kernel doubles the value for its own bookkeeping). So half the image value is set, with
 * SO_SNDBUFFORCE/SO_RCVBUFFORCE (above net.core.wmem_max/rmem_max; SO_SNDBUF/SO_RCVBUF without
 * CAP_NET_ADMIN), and getsockopt then returns the image value again. Setting a size locks it against
 * TCP autotuning; SO_BUF_LOCK then puts the image's lock bits back (0: autotuning as before).
 */
final class Options {
    private Options() {
    }

    /** Every option of {@code e} that is not at its socket-creation default or that CRIU restores anyway. */
    static List<SockOpt> of(InetSkEntry e) {
        List<SockOpt> out = new ArrayList<>();
        SkOptsEntry o = e.getOpts();
        if (e.hasIpOpts()) {
            IpOptsEntry ip = e.getIpOpts();
            if (e.getFamily() == InetConst.AF_INET6) {
                // criu records the IPv6 options of an IPv6 socket (IPV6_FREEBIND, IPV6_RECVPKTINFO).
                if (ip.hasFreebind()) {
                    out.add(SockOpt.ofBool(SOL_IPV6, InetConst.IPV6_FREEBIND, ip.getFreebind(), "IPV6_FREEBIND"));
                }
                if (ip.hasPktinfo()) {
                    out.add(SockOpt.ofBool(SOL_IPV6, InetConst.IPV6_RECVPKTINFO, ip.getPktinfo(), "IPV6_RECVPKTINFO"));
                }
            } else {
                // First: IP_TOS also sets the socket's priority, which SO_PRIORITY below then puts back.
                if (ip.hasFreebind()) {
                    out.add(SockOpt.ofBool(SOL_IP, IP_FREEBIND, ip.getFreebind(), "IP_FREEBIND"));
                }
                if (ip.hasPktinfo()) {
                    out.add(SockOpt.ofBool(SOL_IP, IP_PKTINFO, ip.getPktinfo(), "IP_PKTINFO"));
                }
                if (ip.hasTos()) {
                    out.add(SockOpt.ofInt(SOL_IP, IP_TOS, ip.getTos(), "IP_TOS"));
                }
                if (ip.hasTtl()) {
                    out.add(SockOpt.ofInt(SOL_IP, IP_TTL, ip.getTtl(), "IP_TTL"));
                }
            }
            if (ip.hasRaw() && e.getType() == InetConst.SOCK_RAW) {
                raw(e, ip.getRaw(), out);
            }
        }
        if (o.hasSoPriority()) {
            out.add(SockOpt.ofInt(SOL_SOCKET, InetConst.SO_PRIORITY, o.getSoPriority(), "SO_PRIORITY"));
        }
        if (o.hasSoRcvlowat()) {
            out.add(SockOpt.ofInt(SOL_SOCKET, InetConst.SO_RCVLOWAT, o.getSoRcvlowat(), "SO_RCVLOWAT"));
        }
        if (o.hasSoMark() && o.getSoMark() != 0) {
            out.add(SockOpt.ofInt(SOL_SOCKET, InetConst.SO_MARK, o.getSoMark(), "SO_MARK"));
        }
        if (o.getSoSndTmoSec() != 0 || o.getSoSndTmoUsec() != 0) {
            out.add(timeval(InetConst.SO_SNDTIMEO, o.getSoSndTmoSec(), o.getSoSndTmoUsec(), "SO_SNDTIMEO"));
        }
        if (o.getSoRcvTmoSec() != 0 || o.getSoRcvTmoUsec() != 0) {
            out.add(timeval(InetConst.SO_RCVTIMEO, o.getSoRcvTmoSec(), o.getSoRcvTmoUsec(), "SO_RCVTIMEO"));
        }
        if (o.hasSoPasscred()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_PASSCRED, o.getSoPasscred(), "SO_PASSCRED"));
        }
        if (o.hasSoPasssec()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_PASSSEC, o.getSoPasssec(), "SO_PASSSEC"));
        }
        if (o.hasSoDontroute()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_DONTROUTE, o.getSoDontroute(), "SO_DONTROUTE"));
        }
        if (o.hasSoNoCheck()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_NO_CHECK, o.getSoNoCheck(), "SO_NO_CHECK"));
        }
        if (o.hasSoBroadcast()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_BROADCAST, o.getSoBroadcast(), "SO_BROADCAST"));
        }
        if (o.hasSoKeepalive()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_KEEPALIVE, o.getSoKeepalive(), "SO_KEEPALIVE"));
        }
        if (o.hasSoOobinline()) {
            out.add(SockOpt.ofBool(SOL_SOCKET, InetConst.SO_OOBINLINE, o.getSoOobinline() != 0, "SO_OOBINLINE"));
        }
        if (o.hasSoLinger()) {
            // CRIU records the linger time only when SO_LINGER was on.
            byte[] v = new byte[8];
            InetConst.putInt(v, 0, 1);
            InetConst.putInt(v, 4, o.getSoLinger());
            out.add(new SockOpt(SOL_SOCKET, InetConst.SO_LINGER, v, "SO_LINGER={1, " + o.getSoLinger() + "}", 0, false));
        }
        if (o.hasSoBoundDev() && !o.getSoBoundDev().isEmpty()) {
            byte[] name = o.getSoBoundDev().getBytes(StandardCharsets.UTF_8);
            out.add(new SockOpt(SOL_SOCKET, InetConst.SO_BINDTODEVICE, name, "SO_BINDTODEVICE=" + o.getSoBoundDev(),
                    0, false));
        }
        // Buffers: half the getsockopt value (the kernel doubles it back).
        out.add(new SockOpt(SOL_SOCKET, InetConst.SO_SNDBUFFORCE, InetConst.intValue(o.getSoSndbuf() / 2),
                "SO_SNDBUF=" + Integer.toUnsignedString(o.getSoSndbuf()) + " (set " + o.getSoSndbuf() / 2 + ")",
                InetConst.SO_SNDBUF, false));
        out.add(new SockOpt(SOL_SOCKET, InetConst.SO_RCVBUFFORCE, InetConst.intValue(o.getSoRcvbuf() / 2),
                "SO_RCVBUF=" + Integer.toUnsignedString(o.getSoRcvbuf()) + " (set " + o.getSoRcvbuf() / 2 + ")",
                InetConst.SO_RCVBUF, false));
        int lock = o.hasSoBufLock() ? o.getSoBufLock() : 0;
        out.add(new SockOpt(SOL_SOCKET, InetConst.SO_BUF_LOCK, InetConst.intValue(lock), "SO_BUF_LOCK=" + lock, 0,
                lock == 0));

        boolean tcp = e.getType() == InetConst.SOCK_STREAM;
        // Keepalive tuning: older images keep it in SkOptsEntry, newer ones in TcpOptsEntry.
        TcpOptsEntry t = e.hasTcpOpts() ? e.getTcpOpts() : null;
        if (tcp) {
            Integer cnt = t != null && t.hasKeepcnt() ? Integer.valueOf(t.getKeepcnt())
                    : o.hasTcpKeepcnt() ? Integer.valueOf(o.getTcpKeepcnt()) : null;
            Integer idle = t != null && t.hasKeepidle() ? Integer.valueOf(t.getKeepidle())
                    : o.hasTcpKeepidle() ? Integer.valueOf(o.getTcpKeepidle()) : null;
            Integer intvl = t != null && t.hasKeepintvl() ? Integer.valueOf(t.getKeepintvl())
                    : o.hasTcpKeepintvl() ? Integer.valueOf(o.getTcpKeepintvl()) : null;
            if (cnt != null && cnt != 0) {
                out.add(SockOpt.ofInt(SOL_TCP, InetConst.TCP_KEEPCNT, cnt, "TCP_KEEPCNT"));
            }
            if (idle != null && idle != 0) {
                out.add(SockOpt.ofInt(SOL_TCP, InetConst.TCP_KEEPIDLE, idle, "TCP_KEEPIDLE"));
            }
            if (intvl != null && intvl != 0) {
                out.add(SockOpt.ofInt(SOL_TCP, InetConst.TCP_KEEPINTVL, intvl, "TCP_KEEPINTVL"));
            }
            if (t != null && t.hasNodelay()) {
                out.add(SockOpt.ofBool(SOL_TCP, InetConst.TCP_NODELAY, t.getNodelay(), "TCP_NODELAY"));
            }
            if (t != null && t.hasCork()) {
                out.add(SockOpt.ofBool(SOL_TCP, InetConst.TCP_CORK, t.getCork(), "TCP_CORK"));
            }
        }

        return out;
    }

    private static SockOpt timeval(int name, long sec, long usec, String label) {
        byte[] v = new byte[16];
        InetConst.putLong(v, 0, sec);
        InetConst.putLong(v, 8, usec);
        return new SockOpt(SOL_SOCKET, name, v, label + "=" + sec + "." + String.format("%06d", usec) + "s", 0, false);
    }

    /** The options of a raw socket: its ICMP filter, IP_NODEFRAG and the header-included flag. */
    private static void raw(InetSkEntry e, IpOptsRawEntry r, List<SockOpt> out) {
        boolean v6 = e.getFamily() == InetConst.AF_INET6;
        if (r.getIcmpvFilterCount() > 0) {
            byte[] v = new byte[4 * r.getIcmpvFilterCount()];
            for (int i = 0; i < r.getIcmpvFilterCount(); i++) {
                InetConst.putInt(v, 4 * i, r.getIcmpvFilter(i));
            }
            out.add(v6 ? new SockOpt(InetConst.SOL_ICMPV6, InetConst.ICMPV6_FILTER, v, "ICMPV6_FILTER", 0, false)
                    : new SockOpt(InetConst.SOL_RAW, InetConst.ICMP_FILTER, v, "ICMP_FILTER=0x"
                            + Integer.toHexString(r.getIcmpvFilter(0)), 0, false));
        }
        if (r.hasNodefrag() && !v6) {
            out.add(SockOpt.ofBool(SOL_IP, InetConst.IP_NODEFRAG, r.getNodefrag(), "IP_NODEFRAG"));
        }
        if (r.hasHdrincl()) {
            out.add(v6 ? SockOpt.ofBool(SOL_IPV6, InetConst.IPV6_HDRINCL, r.getHdrincl(), "IPV6_HDRINCL")
                    : SockOpt.ofBool(SOL_IP, InetConst.IP_HDRINCL, r.getHdrincl(), "IP_HDRINCL"));
        }
    }

    /** What the plugin cannot restore in {@code e}'s options, or null. Bounds what a hostile image can set. */
    static String unsupported(InetSkEntry e) {
        if (e.getOpts().getSoFilterCount() > 0) {
            return "a socket filter (SO_ATTACH_FILTER, " + e.getOpts().getSoFilterCount() + " instructions)";
        }
        if (e.hasIpOpts() && e.getIpOpts().hasRaw()) {
            IpOptsRawEntry r = e.getIpOpts().getRaw();
            if (e.getType() != InetConst.SOCK_RAW) {
                return "raw socket options (IpOptsRawEntry) on a socket of type " + e.getType();
            }
            int n = r.getIcmpvFilterCount();
            if (n > 0) {
                boolean v6 = e.getFamily() == InetConst.AF_INET6;
                int want = v6 ? 8 : 1;
                int proto = v6 ? InetConst.IPPROTO_ICMPV6 : InetConst.IPPROTO_ICMP;
                if (e.getProto() != proto) {
                    return "an ICMP filter (icmpv_filter) on a raw socket of protocol " + e.getProto();
                }
                if (n != want) {
                    return "an ICMP filter (icmpv_filter) of " + n + " words (" + (v6 ? "icmp6_filter" : "icmp_filter")
                            + " has " + want + ")";
                }
            }
            if (r.hasChecksum()) {
                return "a raw socket checksum option (IpOptsRawEntry.checksum, which criu never writes)";
            }
        }
        return null;
    }
}
