package fdrestore.plugin.inetsocket;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.IpOptsRawEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TcpOptsEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The dump side of inet sockets, read on the pidfd_getfd copy of the socket: the bound address
 * (getsockname; a raw socket's "port" is its protocol, as in criu's images), the peer (getpeername), the
 * TCP state (the first byte of TCP_INFO), the socket, IP, raw and TCP options (getsockopt, as criu
 * records them), the shutdown bits (sock_diag), for a listener its backlog (sock_diag: neither
 * /proc/net/tcp nor getsockopt has it), and for an established or half-closed connection its repair
 * state ({@link TcpDump}) in {@code tcp-stream-%x.img}. The connection is read while it runs on (fdrestore
 * does not lock the network as criu does): what arrives meanwhile is in the live socket, not the image.
 *
 * <p>Not dumped ({@link DumpException#unsupported}): TCP in syn-sent, syn-recv and time-wait, and listeners
 * in another network namespace than fdrestore's (sock_diag answers for fdrestore's own).
 */
final class InetDumper {
    private InetDumper() {
    }

    static boolean dumps(LiveFile f) {
        LiveFile.Socket s = f.socket();
        if (s == null || (s.family() != InetConst.AF_INET && s.family() != InetConst.AF_INET6)) {
            return false;
        }
        return (s.type() == InetConst.SOCK_STREAM && s.protocol() == InetConst.IPPROTO_TCP)
                || InetSocket.isUdp(s.type(), s.protocol()) || InetSocket.isPing(s.family(), s.type(), s.protocol())
                || s.type() == InetConst.SOCK_RAW;
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        LiveFile.Socket s = f.socket();
        int fd = ctx.localFd();
        boolean tcp = s.type() == InetConst.SOCK_STREAM;
        boolean raw = s.type() == InetConst.SOCK_RAW;
        long ino = f.stat().ino();
        String what = InetSocket.describe(s.family(), s.type(), s.protocol(), 0, null, null, ctx.id());
        try {
            InetAddr src = InetAddr.parse(pad(Sys.getsockname(fd), s.family()));
            InetAddr dst = peer(fd, s.family());
            int state;
            if (tcp) {
                state = TcpDump.state(fd);
            } else {
                state = dst != null ? InetConst.TCP_ESTABLISHED : InetConst.TCP_CLOSE;
            }
            what = InetSocket.describe(s.family(), s.type(), s.protocol(), state, src, dst, ctx.id());
            if (tcp && state != InetConst.TCP_LISTEN && state != InetConst.TCP_CLOSE && !InetSocket.isConnection(state)) {
                throw DumpException.unsupported(what + ": TCP state " + InetSocket.stateName(s.type(), state)
                        + " cannot be dumped (listen, close, established and the half-closed states can)");
            }
            if (tcp && InetSocket.isConnection(state)) {
                TcpDump.Dumped d;
                try {
                    d = TcpDump.dump(fd);
                } catch (IOException e) {
                    throw new DumpException(what + ": reading the connection in repair mode (TCP_REPAIR needs"
                            + " CAP_NET_ADMIN in the socket's network namespace): " + e.getMessage(), e);
                }
                state = d.state();
                ctx.writeImage(Magic.TCP_STREAM, ino, List.of(new ImageEntry(d.entry(), d.payload())));
                if (d.inq().length + d.outq().length > 0) {
                    ctx.note(what + ": " + d.inq().length + " bytes received and " + d.outq().length
                            + " bytes to send are in " + Magic.TCP_STREAM.fileName(ino)
                            + " (read while the connection ran on)");
                }
            }
            int backlog = state == InetConst.TCP_LISTEN ? backlog(ctx, s.family(), ino, what) : 0;
            InetAddr zero = InetAddr.of(s.family(), java.util.List.of(), 0, 0);
            InetAddr d = dst != null ? dst : zero;
            InetSkEntry.Builder e = InetSkEntry.newBuilder().setId((int) ctx.id()).setIno((int) ino)
                    .setFamily(s.family()).setType(s.type()).setProto(s.protocol()).setState(state)
                    .setSrcPort(src.port()).setDstPort(d.port())
                    .setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC).setBacklog(backlog)
                    .setFown(ctx.fown()).setOpts(socketOptions(fd));
            for (int w : src.words()) {
                e.addSrcAddr(w);
            }
            for (int w : d.words()) {
                e.addDstAddr(w);
            }
            if (s.family() == InetConst.AF_INET6) {
                e.setV6Only(getInt(fd, InetConst.SOL_IPV6, InetConst.IPV6_V6ONLY) != 0);
            }
            if (tcp && InetSocket.isConnection(state) || InetSocket.isUdp(s.type(), s.protocol())) {
                int shut = shutdownBits(ctx, ino, s.family(), s.protocol());
                if (shut != 0) {
                    e.setShutdown(shut);
                }
            }
            e.setIpOpts(ipOptions(fd, s.family(), s.type(), s.protocol()));
            // criu writes an empty tcp_opts for the other kinds.
            e.setTcpOpts(tcp ? tcpOptions(fd) : TcpOptsEntry.getDefaultInstance());
            if (src.scopeId() != 0) {
                e.setIfname(ifname(src.scopeId()));
            }
            return FileEntry.newBuilder().setType(FdType.INETSK.code()).setId((int) ctx.id()).setIsk(e).build();
        } catch (SysException x) {
            throw new DumpException(what + ": " + x.getMessage(), x);
        }
    }

    private static InetAddr peer(int fd, int family) throws SysException {
        try {
            return InetAddr.parse(pad(Sys.getpeername(fd), family));
        } catch (SysException e) {
            if (e.errno() == 107 /* ENOTCONN */) {
                return null;
            }
            throw e;
        }
    }

    /** A sockaddr at least as long as its family's struct (getsockname of an unbound socket may be short). */
    private static byte[] pad(byte[] sa, int family) {
        int want = family == InetConst.AF_INET ? 16 : 28;
        byte[] out = sa.length >= want ? sa : java.util.Arrays.copyOf(sa, want);
        out[0] = (byte) family;
        out[1] = 0;
        return out;
    }

    private static int backlog(DumpContext ctx, int family, long ino, String what) throws DumpException {
        try {
            String theirs = Files.readSymbolicLink(Path.of("/proc", Integer.toString(ctx.pid()), "ns", "net")).toString();
            String ours = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
            if (!theirs.equals(ours)) {
                throw DumpException.unsupported(what + ": a listener in another network namespace (" + theirs
                        + "); its backlog is read with sock_diag in fdrestore's own");
            }
        } catch (IOException e) {
            throw new DumpException(what + ": cannot read the network namespace of task " + ctx.pid() + ": " + e, e);
        }
        Map<Long, Integer> all = ctx.memo("inet.backlogs:" + family, () -> {
            try {
                return InetDiag.listenBacklogs(family);
            } catch (SysException | RuntimeException e) {
                return Map.<Long, Integer>of();
            }
        });
        Integer b = all.get(ino);
        if (b == null) {
            try {
                b = InetDiag.listenBacklogs(family).get(ino); // a listener created since the first query
            } catch (SysException e) {
                throw new DumpException(what + ": sock_diag: " + e.getMessage(), e);
            }
        }
        if (b == null) {
            throw new DumpException(what + ": sock_diag does not list this listener, so its backlog is unknown");
        }
        return b;
    }

    /**
     * The socket's sk_shutdown bits (1 read, 2 write), from sock_diag in fdrestore's network namespace;
     * 0 when the socket is not listed there (another namespace): a note says so.
     */
    private static int shutdownBits(DumpContext ctx, long ino, int family, int proto) {
        String key = "inet.shutdowns:" + family + ":" + proto;
        Map<Long, Integer> all = ctx.memo(key, () -> {
            try {
                return InetDiag.shutdowns(family, proto);
            } catch (SysException | RuntimeException e) {
                return Map.<Long, Integer>of();
            }
        });
        Integer v = all.get(ino);
        if (v == null) {
            try {
                v = InetDiag.shutdowns(family, proto).get(ino); // a socket created since the first query
            } catch (SysException | RuntimeException e) {
                v = null;
            }
        }
        if (v == null) {
            ctx.note("socket inode " + ino + ": sock_diag does not list it here, so its shutdown state is not recorded");
            return 0;
        }
        return v & 3;
    }

    private static SkOptsEntry socketOptions(int fd) throws SysException {
        int sol = InetConst.SOL_SOCKET;
        SkOptsEntry.Builder o = SkOptsEntry.newBuilder()
                .setSoSndbuf(getInt(fd, sol, InetConst.SO_SNDBUF))
                .setSoRcvbuf(getInt(fd, sol, InetConst.SO_RCVBUF));
        long[] snd = timeval(fd, InetConst.SO_SNDTIMEO);
        long[] rcv = timeval(fd, InetConst.SO_RCVTIMEO);
        o.setSoSndTmoSec(snd[0]).setSoSndTmoUsec(snd[1]).setSoRcvTmoSec(rcv[0]).setSoRcvTmoUsec(rcv[1]);
        o.setReuseaddr(getInt(fd, sol, InetConst.SO_REUSEADDR) != 0);
        o.setSoPriority(getInt(fd, sol, InetConst.SO_PRIORITY));
        o.setSoRcvlowat(getInt(fd, sol, InetConst.SO_RCVLOWAT));
        int mark = getInt(fd, sol, InetConst.SO_MARK);
        if (mark != 0) {
            o.setSoMark(mark);
        }
        o.setSoDontroute(getInt(fd, sol, InetConst.SO_DONTROUTE) != 0);
        o.setSoNoCheck(getInt(fd, sol, InetConst.SO_NO_CHECK) != 0);
        byte[] dev = new byte[16];
        int devLen = Sys.getsockopt(fd, sol, InetConst.SO_BINDTODEVICE, dev);
        String bound = new String(dev, 0, Math.max(0, Math.min(devLen, 16)), StandardCharsets.UTF_8);
        int nul = bound.indexOf('\0');
        bound = nul >= 0 ? bound.substring(0, nul) : bound;
        if (!bound.isEmpty()) {
            o.setSoBoundDev(bound);
        }
        o.setSoReuseport(getInt(fd, sol, InetConst.SO_REUSEPORT) != 0);
        o.setSoBroadcast(getInt(fd, sol, InetConst.SO_BROADCAST) != 0);
        o.setSoKeepalive(getInt(fd, sol, InetConst.SO_KEEPALIVE) != 0);
        o.setSoOobinline(getInt(fd, sol, InetConst.SO_OOBINLINE));
        byte[] linger = new byte[8];
        Sys.getsockopt(fd, sol, InetConst.SO_LINGER, linger);
        if (InetConst.intAt(linger, 0) != 0) {
            o.setSoLinger(InetConst.intAt(linger, 4));
        }
        try {
            o.setSoBufLock(getInt(fd, sol, InetConst.SO_BUF_LOCK));
        } catch (SysException e) {
            if (e.errno() != 92 /* ENOPROTOOPT: kernel before 5.14 */) {
                throw e;
            }
        }
        return o.build();
    }

    private static IpOptsEntry ipOptions(int fd, int family, int type, int proto) throws SysException {
        IpOptsEntry.Builder ip = IpOptsEntry.newBuilder();
        if (type == InetConst.SOCK_RAW) {
            ip.setRaw(rawOptions(fd, family, proto));
        }
        if (family == InetConst.AF_INET6) {
            if (getInt(fd, InetConst.SOL_IPV6, InetConst.IPV6_FREEBIND) != 0) {
                ip.setFreebind(true);
            }
            if (getInt(fd, InetConst.SOL_IPV6, InetConst.IPV6_RECVPKTINFO) != 0) {
                ip.setPktinfo(true);
            }
            return ip.build();
        }
        if (getInt(fd, InetConst.SOL_IP, InetConst.IP_FREEBIND) != 0) {
            ip.setFreebind(true);
        }
        if (getInt(fd, InetConst.SOL_IP, InetConst.IP_PKTINFO) != 0) {
            ip.setPktinfo(true);
        }
        int tos = getInt(fd, InetConst.SOL_IP, InetConst.IP_TOS);
        if (tos != 0) {
            ip.setTos(tos);
        }
        ip.setTtl(getInt(fd, InetConst.SOL_IP, InetConst.IP_TTL));
        return ip.build();
    }

    /** The raw options criu records: the header-included flag, IP_NODEFRAG (IPv4) and an ICMP filter. */
    private static IpOptsRawEntry rawOptions(int fd, int family, int proto) throws SysException {
        IpOptsRawEntry.Builder r = IpOptsRawEntry.newBuilder();
        boolean v6 = family == InetConst.AF_INET6;
        if (getInt(fd, v6 ? InetConst.SOL_IPV6 : InetConst.SOL_IP, v6 ? InetConst.IPV6_HDRINCL : InetConst.IP_HDRINCL) != 0) {
            r.setHdrincl(true);
        }
        if (!v6 && getInt(fd, InetConst.SOL_IP, InetConst.IP_NODEFRAG) != 0) {
            r.setNodefrag(true);
        }
        if (proto == (v6 ? InetConst.IPPROTO_ICMPV6 : InetConst.IPPROTO_ICMP)) {
            byte[] filter = new byte[v6 ? 32 : 4];
            Sys.getsockopt(fd, v6 ? InetConst.SOL_ICMPV6 : InetConst.SOL_RAW,
                    v6 ? InetConst.ICMPV6_FILTER : InetConst.ICMP_FILTER, filter);
            for (int i = 0; i < filter.length; i += 4) {
                r.addIcmpvFilter(InetConst.intAt(filter, i));
            }
        }
        return r.build();
    }

    private static TcpOptsEntry tcpOptions(int fd) throws SysException {
        TcpOptsEntry.Builder t = TcpOptsEntry.newBuilder()
                .setKeepcnt(getInt(fd, InetConst.SOL_TCP, InetConst.TCP_KEEPCNT))
                .setKeepidle(getInt(fd, InetConst.SOL_TCP, InetConst.TCP_KEEPIDLE))
                .setKeepintvl(getInt(fd, InetConst.SOL_TCP, InetConst.TCP_KEEPINTVL));
        if (getInt(fd, InetConst.SOL_TCP, InetConst.TCP_NODELAY) != 0) {
            t.setNodelay(true);
        }
        if (getInt(fd, InetConst.SOL_TCP, InetConst.TCP_CORK) != 0) {
            t.setCork(true);
        }
        return t.build();
    }

    private static int getInt(int fd, int level, int name) throws SysException {
        return Sys.getsockoptInt(fd, level, name);
    }

    private static long[] timeval(int fd, int name) throws SysException {
        byte[] tv = new byte[16];
        Sys.getsockopt(fd, InetConst.SOL_SOCKET, name, tv);
        long sec = Integer.toUnsignedLong(InetConst.intAt(tv, 0)) | (long) InetConst.intAt(tv, 4) << 32;
        long usec = Integer.toUnsignedLong(InetConst.intAt(tv, 8)) | (long) InetConst.intAt(tv, 12) << 32;
        return new long[] {sec, usec};
    }

    private static String ifname(int index) throws DumpException {
        try (var s = Files.list(Path.of("/sys/class/net"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.readString(p.resolve("ifindex")).trim().equals(Integer.toString(index))) {
                    return p.getFileName().toString();
                }
            }
        } catch (IOException e) {
            throw new DumpException("cannot map interface index " + index + " to a name: " + e, e);
        }
        throw new DumpException("no interface with index " + index + " (/sys/class/net)");
    }
}
