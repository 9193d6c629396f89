package fdrestore.plugin.netlink;

import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * Restores one netlink socket in criu's order: socket(AF_NETLINK, SOCK_RAW, protocol); bind to the image's
 * port id with the first 32 groups when it was bound (a taken port id: a port the kernel chooses, see
 * {@link NetlinkKind}); NETLINK_ADD_MEMBERSHIP for groups above 32; connect(2) to the peer when it was
 * connected; then the file flags, F_SETSIG and the socket options. On any failure the socket is closed.
 */
final class NetlinkSocket implements FileRestorer {
    static final int SOL_NETLINK = 270;
    static final int NETLINK_ADD_MEMBERSHIP = 1;
    static final int F_SETFL = 4;
    static final int F_SETSIG = 10;
    static final int EPROTONOSUPPORT = 93;
    private static final System.Logger LOG = System.getLogger(NetlinkSocket.class.getName());

    private final long id;
    private final NetlinkSkEntry e;
    private final boolean exactPort;

    NetlinkSocket(long id, NetlinkSkEntry e, boolean exactPort) {
        this.id = id;
        this.e = e;
        this.exactPort = exactPort;
    }

    /** A raw {@code struct sockaddr_nl}. */
    static byte[] sockaddr(int portid, int groups) {
        byte[] sa = new byte[12];
        sa[0] = (byte) NetlinkKind.AF_NETLINK;
        SocketOptions.putInt(sa, 4, portid);
        SocketOptions.putInt(sa, 8, groups);
        return sa;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int fd;
        try {
            fd = t.socket(NetlinkKind.AF_NETLINK, NetlinkKind.SOCK_RAW, e.getProtocol());
        } catch (SysException x) {
            throw new IOException(this + ": socket: " + x.getMessage()
                    + (x.errno() == EPROTONOSUPPORT ? " (this kernel has no " + NetlinkKind.protocolName(e.getProtocol())
                            + "; field protocol)" : ""), x);
        }
        String step = "bind";
        try {
            int groups0 = e.getGroupsCount() > 0 ? e.getGroups(0) : 0;
            if (e.getPortid() != 0 || groups0 != 0) {
                try {
                    t.bind(fd, sockaddr(e.getPortid(), groups0));
                } catch (SysException x) {
                    if (x.errno() != Errno.EADDRINUSE || exactPort || e.getPortid() == 0) {
                        throw x;
                    }
                    step = "bind to a port the kernel chooses";
                    t.bind(fd, sockaddr(0, groups0));
                    LOG.log(System.Logger.Level.WARNING, this + ": port id " + Integer.toUnsignedString(e.getPortid())
                            + " is taken; bound to the port id the kernel chose (option " + NetlinkKind.PORT_OPTION
                            + "=exact fails instead)");
                }
            }
            for (int w = 1; w < e.getGroupsCount(); w++) {
                int bits = e.getGroups(w);
                for (int b = 0; b < 32; b++) {
                    if ((bits & (1 << b)) != 0) {
                        int group = 32 * w + b + 1;
                        step = "NETLINK_ADD_MEMBERSHIP of group " + group;
                        t.setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, SocketOptions.intValue(group));
                    }
                }
            }
            if (e.getState() == NetlinkKind.STATE_CONNECTED) {
                int mask = e.getDstGroup() == 0 ? 0 : 1 << (e.getDstGroup() - 1);
                step = "connect to port id " + Integer.toUnsignedString(e.getDstPortid()) + " group " + e.getDstGroup();
                t.connect(fd, sockaddr(e.getDstPortid(), mask));
            }
            int fl = e.getFlags() & (NetlinkKind.O_NONBLOCK | NetlinkKind.O_ASYNC);
            if (fl != 0) {
                step = "fcntl(F_SETFL, 0" + Integer.toOctalString(fl) + ")";
                t.fcntl(fd, F_SETFL, fl);
            }
            if (e.getFown().getSignum() != 0) {
                step = "fcntl(F_SETSIG, " + e.getFown().getSignum() + ")";
                t.fcntl(fd, F_SETSIG, e.getFown().getSignum());
            }
            step = "socket options";
            SocketOptions.restore(t, fd, e.getOpts());
            return OpenResult.done(fd);
        } catch (SysException x) {
            IOException failure = new IOException(this + ": " + step + ": " + x.getMessage(), x);
            try {
                t.close(fd);
            } catch (SysException c) {
                failure.addSuppressed(c);
            }
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "netlink file " + id + " (" + NetlinkKind.protocolName(e.getProtocol()) + ", port id "
                + Integer.toUnsignedString(e.getPortid()) + ")";
    }
}
