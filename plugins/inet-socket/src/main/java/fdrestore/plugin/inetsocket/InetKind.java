package fdrestore.plugin.inetsocket;

import fdrestore.core.image.FdType;
import fdrestore.core.image.ImageSet;
import fdrestore.core.image.codec.ImageEntry;
import fdrestore.core.image.codec.ImageFile;
import fdrestore.core.image.codec.Magic;
import fdrestore.core.image.proto.FileEntry;
import fdrestore.core.image.proto.FownEntry;
import fdrestore.core.image.proto.InetSkEntry;
import fdrestore.core.spi.DumpContext;
import fdrestore.core.spi.DumpException;
import fdrestore.core.spi.FileDumper;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.FileKind;
import fdrestore.core.spi.FileRestorer;
import fdrestore.core.spi.LiveFile;
import fdrestore.core.spi.PlanContext;
import fdrestore.core.spi.PlanException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of TCP and UDP sockets ({@code FdType.INETSK}): listening, bound, connected UDP and
 * established TCP (repair mode). See the package documentation.
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
        boolean tcp = e.getType() == InetConst.SOCK_STREAM && e.getProto() == InetConst.IPPROTO_TCP;
        boolean udp = e.getType() == InetConst.SOCK_DGRAM && e.getProto() == InetConst.IPPROTO_UDP;
        InetAddr src0;
        InetAddr dst0;
        int scope;
        try {
            scope = scopeId(e, file);
            src0 = InetAddr.of(family, e.getSrcAddrList(), e.getSrcPort(), scope);
            dst0 = InetAddr.of(family, e.getDstAddrList(), e.getDstPort(), scope);
        } catch (IllegalArgumentException x) {
            throw new PlanException(file + ": bad inet socket address: " + x.getMessage(), x);
        }
        String what = InetSocket.describe(family, e.getProto(), e.getState(), src0, dst0.port() != 0 ? dst0 : null, id);
        if (!tcp && !udp) {
            throw new PlanException(what + ": socket type " + e.getType() + " protocol " + e.getProto()
                    + " is not supported (only TCP stream and UDP datagram sockets)");
        }
        int state = e.getState();
        if (tcp && state != InetConst.TCP_LISTEN && state != InetConst.TCP_CLOSE && state != InetConst.TCP_ESTABLISHED) {
            throw new PlanException(what + ": TCP state " + InetSocket.stateName(e.getProto(), state)
                    + " is not supported (listen, close and established are)");
        }
        if (udp && state != InetConst.TCP_ESTABLISHED && state != InetConst.TCP_CLOSE) {
            throw new PlanException(what + ": UDP socket in state " + state + " (expected 1 connected or 7 unconnected)");
        }
        String bad = Options.unsupported(e);
        if (bad != null) {
            throw new PlanException(what + ": " + bad + " cannot be restored");
        }
        boolean established = tcp && state == InetConst.TCP_ESTABLISHED;
        InetAddr src = InetImages.binds(e) || established ? src0 : null;
        InetAddr dst = established || (udp && e.getDstPort() != 0) ? dst0 : null;
        if (dst != null && dst.port() == 0) {
            throw new PlanException(what + ": connected, but the peer's port is 0");
        }
        int shutdown = e.hasShutdown() ? e.getShutdown() : 0;
        if (established && (shutdown & InetConst.SK_SHUTDOWN_WRITE) != 0) {
            throw new PlanException(what + ": an established TCP socket shut down for writing has sent its FIN;"
                    + " that state cannot be restored");
        }
        if (tcp && !established && shutdown != 0) {
            shutdown = 0; // shutdown of an unconnected TCP socket is ENOTCONN: nothing to restore
        }
        ImageSet images = ctx.images();
        TcpStream stream = null;
        if (established) {
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
        InetImages all = InetImages.of(images);
        List<Long> users = all.otherPortUsers(id, e);
        long peer = established ? all.streamPeer(id, e) : -1;
        return new InetSocket(id, Integer.toUnsignedLong(e.getIno()), family, e.getType(), e.getProto(), state, src, dst,
                e.getFlags(), e.getBacklog(), family == InetConst.AF_INET6 && e.getV6Only(), Options.of(e),
                e.getOpts().getReuseaddr(), e.getOpts().getSoReuseport(), shutdown, signum, stream, users, peer);
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
            return TcpStream.parse(ie.message(), ie.payload() == null ? new byte[0] : ie.payload());
        } catch (IllegalArgumentException x) {
            throw new PlanException(what + ": " + name + ": " + x.getMessage(), x);
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
}
