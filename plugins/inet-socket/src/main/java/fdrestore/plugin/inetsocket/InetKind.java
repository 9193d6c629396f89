package fdrestore.plugin.inetsocket;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FdChecks;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of inet sockets ({@code FdType.INETSK}): TCP listening, bound, established or half closed
 * (repair mode), UDP and UDP-Lite, ICMP datagram and raw sockets. See the package documentation.
 *
 * <p>Restore-wide option {@value #FOWN_OPTION}: {@code strict} (the default) refuses a socket whose owner
 * (F_SETOWN) is a process, whose pid in the restored tree is not known while fds are restored;
 * {@code ignore} leaves the owner unset (the signal number is still restored).
 */
@Extension
public final class InetKind implements FileKind, FileDumper {
    /** The option that decides what happens to F_SETOWN owners. */
    public static final String FOWN_OPTION = "inet.fown";

    @Override
    public Set<String> options() {
        return Set.of(FOWN_OPTION);
    }

    @Override
    public String name() {
        return "inet";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.INETSK);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return InetDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return InetDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        return new InetRestorer(socket(file, ctx));
    }

    /** The TCP states a description can be restored in. */
    private static final Set<Integer> TCP_STATES = Set.of(InetConst.TCP_LISTEN, InetConst.TCP_CLOSE,
            InetConst.TCP_ESTABLISHED, InetConst.TCP_CLOSE_WAIT, InetConst.TCP_FIN_WAIT1, InetConst.TCP_FIN_WAIT2,
            InetConst.TCP_CLOSING, InetConst.TCP_LAST_ACK);

    /** Plans one description: checks what can be restored and reads everything the restore needs. */
    static InetSocket socket(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasIsk()) {
            throw new PlanException(file + ": files.img has no inet socket entry (isk) for it");
        }
        InetSkEntry e = file.entry().getIsk();
        long id = file.id();
        int family = e.getFamily();
        if (family != InetConst.AF_INET && family != InetConst.AF_INET6) {
            throw new PlanException(file + ": inet socket of address family " + family + " (neither AF_INET nor AF_INET6)");
        }
        int type = e.getType();
        int proto = e.getProto();
        boolean tcp = type == InetConst.SOCK_STREAM && proto == InetConst.IPPROTO_TCP;
        boolean udp = InetSocket.isUdp(type, proto);
        boolean raw = type == InetConst.SOCK_RAW;
        boolean ping = InetSocket.isPing(family, type, proto);
        if (!tcp && !udp && !raw && !ping) {
            throw new PlanException(file + ": inet socket of type " + type + " protocol " + proto + " is not one"
                    + " fdrestore restores (TCP stream, UDP or UDP-Lite datagram, ICMP datagram, raw)");
        }
        if (raw && (proto < 0 || proto >= InetConst.IPPROTO_MAX)) {
            throw new PlanException(file + ": raw inet socket of protocol " + Integer.toUnsignedString(proto)
                    + " (protocols are 0.." + (InetConst.IPPROTO_MAX - 1) + ")");
        }
        InetAddr src0;
        InetAddr dst0;
        int scope;
        try {
            scope = scopeId(e, file);
            // A raw socket's "port" in the images is its protocol; its address binds with port 0.
            src0 = InetAddr.of(family, e.getSrcAddrList(), raw ? 0 : e.getSrcPort(), scope);
            dst0 = InetAddr.of(family, e.getDstAddrList(), raw ? 0 : e.getDstPort(), scope);
        } catch (IllegalArgumentException x) {
            throw new PlanException(file + ": bad inet socket address: " + x.getMessage(), x);
        }
        int state = e.getState();
        boolean dstSet = raw ? !dst0.isWildcard() : dst0.port() != 0;
        String what = InetSocket.describe(family, type, proto, state, src0, dstSet ? dst0 : null, id);
        if (tcp && !TCP_STATES.contains(state)) {
            throw new PlanException(what + ": TCP state " + InetSocket.stateName(type, state)
                    + " cannot be restored (listen, close, established, close-wait, fin-wait1, fin-wait2,"
                    + " closing and last-ack can)");
        }
        if (!tcp && state != InetConst.TCP_ESTABLISHED && state != InetConst.TCP_CLOSE) {
            throw new PlanException(what + ": " + (raw ? "raw" : ping ? "ICMP" : "UDP") + " socket in state " + state
                    + " (expected 1 connected or 7 unconnected)");
        }
        String bad = Options.unsupported(e);
        if (bad != null) {
            throw new PlanException(what + ": " + bad + " cannot be restored");
        }
        boolean connection = tcp && InetSocket.isConnection(state);
        boolean binds = raw ? !src0.isWildcard() : InetImages.binds(e);
        InetAddr src = binds || connection ? src0 : null;
        InetAddr dst = connection || (!tcp && (raw ? state == InetConst.TCP_ESTABLISHED && dstSet : dstSet)) ? dst0 : null;
        if (connection && dst.port() == 0) {
            throw new PlanException(what + ": connected, but the peer's port is 0");
        }
        int shutdown = e.hasShutdown() ? e.getShutdown() : 0;
        if ((shutdown & ~3) != 0) {
            throw new PlanException(what + ": shutdown " + Integer.toUnsignedString(shutdown)
                    + " is not one of 0 (none), 1 (read), 2 (write), 3 (both)");
        }
        if (connection) {
            int implied = InetSocket.impliedShutdown(state);
            if ((shutdown & InetConst.SK_SHUTDOWN_WRITE) != 0 && (implied & InetConst.SK_SHUTDOWN_WRITE) == 0) {
                throw new PlanException(what + ": shut down for writing, but in TCP state "
                        + InetSocket.stateName(type, state) + " no FIN was sent; that cannot be restored");
            }
            shutdown &= ~implied; // what the state brings back by itself
        } else if (tcp && shutdown != 0) {
            shutdown = 0; // shutdown of an unconnected TCP socket is ENOTCONN: nothing to restore
        } else if (!udp && !tcp) {
            shutdown = 0; // as criu: only TCP and UDP sockets restore their shutdown
        }
        ImageSet images = ctx.images();
        TcpStream stream = null;
        if (connection) {
            stream = stream(images, e, what);
        }
        int signum = 0;
        if (e.hasFown()) {
            FownEntry fown = e.getFown();
            signum = fown.getSignum();
            if (fown.getPid() != 0) {
                String opt = ctx.option(FOWN_OPTION);
                if (opt == null || opt.equals("strict")) {
                    throw new PlanException(what + ": its owner (F_SETOWN, pid_type " + fown.getPidType() + ", pid "
                            + fown.getPid() + ") cannot be restored: restored pids are chosen by the kernel after the"
                            + " fds are restored; restore with option " + FOWN_OPTION + "=ignore to leave it unset");
                } else if (!opt.equals("ignore")) {
                    throw new PlanException("option " + FOWN_OPTION + "=" + opt + " is not one of strict, ignore");
                }
            }
        }
        InetImages all = InetImages.of(ctx);
        List<Long> users = tcp || udp ? all.otherPortUsers(id, e) : List.of();
        long peer = connection ? all.streamPeer(id, e) : -1;
        return new InetSocket(id, Integer.toUnsignedLong(e.getIno()), family, type, proto, state, src, dst,
                e.getFlags(), e.getBacklog(), family == InetConst.AF_INET6 && e.getV6Only(), Options.of(e),
                e.getOpts().getReuseaddr(), e.getOpts().getSoReuseport(), shutdown, signum, stream, users, peer);
    }

    /** criu's name of a socket: {@code socket:[INO]}. */
    @Override
    public String inheritKey(FileEntry entry, ImageSet images) {
        return entry.hasIsk() ? "socket:[" + Integer.toUnsignedString(entry.getIsk().getIno()) + "]" : null;
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasIsk()) {
            return null;
        }
        InetSkEntry s = entry.getIsk();
        String fam = s.getFamily() == 10 ? "inet6" : "inet";
        String proto = s.getProto() == 6 ? "tcp" : s.getProto() == 17 ? "udp" : "proto " + s.getProto();
        String state = switch (s.getState()) {
            case 1 -> "established";
            case 7 -> "close";
            case 10 -> "listen";
            default -> "state " + s.getState();
        };
        StringBuilder sb = new StringBuilder(fam + " " + proto + " " + state + " "
                + Describe.addr(s.getSrcAddrList(), s.getFamily()) + ":" + s.getSrcPort());
        if (s.getDstPort() != 0) {
            sb.append(" -> ").append(Describe.addr(s.getDstAddrList(), s.getFamily())).append(':').append(s.getDstPort());
        }
        if (s.getV6Only()) {
            sb.append(" v6only");
        }
        return sb.toString();
    }

    private static TcpStream stream(ImageSet images, InetSkEntry e, String what) throws PlanException {
        long ino = Integer.toUnsignedLong(e.getIno());
        String name = Magic.TCP_STREAM.fileName(ino);
        Optional<ImageFile> f;
        try {
            f = images.image(Magic.TCP_STREAM, ino);
        } catch (IOException x) {
            throw new PlanException(what + ": cannot read " + name + ": " + x.getMessage(), x);
        }
        if (f.isEmpty() || f.get().entries().isEmpty()) {
            throw new PlanException(what + ": an established TCP connection needs " + name
                    + ", which the image set does not have (dumped without --tcp-established?)");
        }
        ImageEntry ie = f.get().entries().get(0);
        try {
            // The queues are whole in memory (the repair-mode sends take them by parts of one array): a
            // queue is at most a socket buffer, and a payload above ImageEntry.MAX_PAYLOAD_ARRAY is refused.
            return TcpStream.parse(ie.message(), ie.payload() == null ? new byte[0] : ie.payload());
        } catch (IllegalArgumentException x) {
            throw new PlanException(what + ": " + name + ": " + x.getMessage(), x);
        } catch (java.io.UncheckedIOException x) {
            throw new PlanException(what + ": " + name + " entry 0: " + x.getCause().getMessage(), x);
        }
    }

    /** The scope id of an IPv6 link-local socket, from its interface name; 0 otherwise. */
    private static int scopeId(InetSkEntry e, FileInfo file) throws PlanException {
        if (e.getFamily() != InetConst.AF_INET6 || !e.hasIfname() || e.getIfname().isEmpty()) {
            return 0;
        }
        InetAddr a = InetAddr.of(e.getFamily(), e.getSrcAddrList(), e.getSrcPort(), 0);
        if (!a.isLinkLocal()) {
            return 0;
        }
        Path p = Path.of("/sys/class/net", e.getIfname(), "ifindex");
        try {
            return Integer.parseInt(Files.readString(p).trim());
        } catch (IOException | NumberFormatException x) {
            throw new PlanException(file + ": link-local address " + a + " is bound on interface " + e.getIfname()
                    + ", which this host does not have (" + p + ")", x);
        }
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "socket:[");
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasIsk() ? new Summary(null, entry.getIsk().getFlags(), null) : null;
    }
}
