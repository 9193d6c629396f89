package fdrestore.plugin.netlink;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.SocketOptions;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of netlink sockets ({@code FdType.NETLINKSK}, {@code NetlinkSkEntry} in files.img or the
 * legacy netlinksk.img).
 *
 * <p>What a hostile image can set is checked here, before any syscall: the protocol (below MAX_LINKS, 32),
 * the state (0 unbound, 1 connected, 7 bound), the group bitmap (at most {@link #MAX_GROUP_WORDS} words),
 * the peer's group number (at most 32: connect(2) takes a 32-bit mask), the file flags and the socket
 * options. A protocol the running kernel lacks is refused by socket(2) (EPROTONOSUPPORT) before anything
 * else is made.
 *
 * <p>The bound port id: criu binds the image's port id and, if that fails, lets the kernel choose one
 * (a port id is usually the pid of the task that bound first, and few programs care). So does this plugin
 * when the port id is taken (EADDRINUSE), unless the restore option {@code netlink.port=exact} asks to fail.
 */
@Extension
public final class NetlinkKind implements FileKind, FileDumper {
    /** The option that decides what a taken port id does: {@code any} (criu's way, the default) or {@code exact}. */
    public static final String PORT_OPTION = "netlink.port";
    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    /** The kernel's MAX_LINKS: netlink protocols are below it. */
    static final int MAX_LINKS = 32;
    /** Group bitmap words accepted (1024 groups; criu itself restores only the first word). */
    static final int MAX_GROUP_WORDS = 32;
    static final int STATE_UNBOUND = 0;
    static final int STATE_CONNECTED = 1;
    static final int STATE_BOUND = 7;
    static final int O_ACCMODE = 3;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;
    static final int O_ASYNC = 020000;
    static final int O_LARGEFILE = 0100000;

    /** The plugin option this kind reads (restore --plugin-option KEY=VALUE). */
    @Override
    public Set<String> options() {
        return Set.of(PORT_OPTION);
    }

    @Override
    public String name() {
        return "netlink-socket";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.NETLINKSK);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return NetlinkDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return NetlinkDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        String what = "netlink file " + file.id();
        if (!file.entry().hasNlsk()) {
            throw new PlanException(what + ": files.img has no netlink entry for it");
        }
        NetlinkSkEntry e = file.entry().getNlsk();
        if (Integer.compareUnsigned(e.getProtocol(), MAX_LINKS) >= 0) {
            throw new PlanException(what + ": protocol " + Integer.toUnsignedString(e.getProtocol())
                    + " is no netlink protocol (they are below " + MAX_LINKS + ")");
        }
        int state = e.getState();
        if (state != STATE_UNBOUND && state != STATE_CONNECTED && state != STATE_BOUND) {
            throw new PlanException(what + ": state " + Integer.toUnsignedString(state)
                    + " is not one of 0 (unbound), 1 (connected), 7 (bound)");
        }
        if (e.getGroupsCount() > MAX_GROUP_WORDS) {
            throw new PlanException(what + ": groups has " + e.getGroupsCount() + " words, more than the "
                    + MAX_GROUP_WORDS + " (" + 32 * MAX_GROUP_WORDS + " groups) fdrestore accepts");
        }
        if (Integer.compareUnsigned(e.getDstGroup(), 32) > 0) {
            throw new PlanException(what + ": dst_group " + Integer.toUnsignedString(e.getDstGroup())
                    + " is above 32 (connect(2) takes a 32-bit group mask)");
        }
        int flags = e.getFlags();
        if ((flags & O_ACCMODE) != O_RDWR || (flags & ~(O_ACCMODE | O_NONBLOCK | O_ASYNC | O_LARGEFILE)) != 0) {
            throw new PlanException(what + ": flags 0" + Integer.toOctalString(flags)
                    + " are not a socket's (O_RDWR with O_NONBLOCK, O_ASYNC)");
        }
        String bad = SocketOptions.invalid(e.getOpts());
        if (bad != null) {
            throw new PlanException(what + ": " + bad);
        }
        if (e.getFown().getPid() != 0) {
            throw new PlanException(what + ": its owner (F_SETOWN, pid " + e.getFown().getPid()
                    + ") cannot be restored: restored pids are chosen after the fds are restored");
        }
        String port = ctx.option(PORT_OPTION);
        if (port != null && !port.equals("any") && !port.equals("exact")) {
            throw new PlanException("option " + PORT_OPTION + "=" + port + " is not one of any, exact");
        }
        return new NetlinkSocket(file.id(), e, "exact".equals(port));
    }

    /** The name of netlink protocol {@code p} (linux/netlink.h), or its number. */
    static String protocolName(int p) {
        return switch (p) {
            case 0 -> "NETLINK_ROUTE";
            case 2 -> "NETLINK_USERSOCK";
            case 4 -> "NETLINK_SOCK_DIAG";
            case 5 -> "NETLINK_NFLOG";
            case 6 -> "NETLINK_XFRM";
            case 7 -> "NETLINK_SELINUX";
            case 8 -> "NETLINK_ISCSI";
            case 9 -> "NETLINK_AUDIT";
            case 10 -> "NETLINK_FIB_LOOKUP";
            case 11 -> "NETLINK_CONNECTOR";
            case 12 -> "NETLINK_NETFILTER";
            case 14 -> "NETLINK_DNRTMSG";
            case 15 -> "NETLINK_KOBJECT_UEVENT";
            case 16 -> "NETLINK_GENERIC";
            case 18 -> "NETLINK_SCSITRANSPORT";
            case 19 -> "NETLINK_ECRYPTFS";
            case 20 -> "NETLINK_RDMA";
            case 21 -> "NETLINK_CRYPTO";
            case 22 -> "NETLINK_SMC";
            default -> "protocol " + Integer.toUnsignedString(p);
        };
    }
}
