package fdrestore.plugin.netlink;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.sys.SockDiag;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The dump side of netlink sockets, as criu records them: state, port id, groups and peer from sock_diag
 * (NETLINK_SOCK_DIAG with NDIAG_SHOW_GROUPS, one dump per protocol, shared by the dump), which lists bound
 * sockets only; a socket it does not list is unbound (state, port id and groups 0). Then the file flags,
 * the owner and the SOL_SOCKET options. sock_diag answers for fdrestore's own network namespace, so a socket
 * of a task in another one is refused.
 */
final class NetlinkDumper {
    static final int O_CLOEXEC = 02000000;
    static final int NDIAG_SHOW_GROUPS = 2;
    static final int NETLINK_DIAG_GROUPS = 1;
    /** sizeof(struct netlink_diag_msg). */
    static final int MSG_LEN = 28;

    private NetlinkDumper() {
    }

    /** One socket as sock_diag reports it. */
    record Diag(int state, int portid, int dstPortid, int dstGroup, int[] groups) {
    }

    static boolean dumps(LiveFile f) {
        return f.isSocket() && f.socket() != null && f.socket().family() == NetlinkKind.AF_NETLINK;
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        int protocol = f.socket().protocol();
        long ino = f.stat().ino();
        String what = "netlink socket " + ino + " (" + NetlinkKind.protocolName(protocol) + ")";
        sameNetns(ctx, what);
        Map<Long, Diag> all = ctx.memo("netlink.diag:" + protocol, () -> {
            try {
                return diag(protocol);
            } catch (SysException | RuntimeException e) {
                return null;
            }
        });
        if (all == null) {
            throw new DumpException(what + ": sock_diag of netlink protocol " + protocol + " failed");
        }
        Diag d = all.get(ino);
        try {
            NetlinkSkEntry.Builder e = NetlinkSkEntry.newBuilder().setId((int) ctx.id()).setIno((int) ino)
                    .setProtocol(protocol).setFlags(f.fdinfo().flags() & ~O_CLOEXEC)
                    .setState(d == null ? NetlinkKind.STATE_UNBOUND : d.state())
                    .setPortid(d == null ? 0 : d.portid())
                    .setDstPortid(d == null ? 0 : d.dstPortid())
                    .setDstGroup(d == null ? 0 : d.dstGroup())
                    .setFown(ctx.fown()).setOpts(SocketOptions.dump(ctx.localFd(), true));
            if (d != null) {
                int last = d.groups().length;
                while (last > 0 && d.groups()[last - 1] == 0) {
                    last--;
                }
                for (int i = 0; i < last; i++) {
                    e.addGroups(d.groups()[i]);
                }
            }
            return FileEntry.newBuilder().setType(FdType.NETLINKSK.code()).setId((int) ctx.id()).setNlsk(e).build();
        } catch (SysException x) {
            throw new DumpException(what + ": " + x.getMessage(), x);
        }
    }

    private static void sameNetns(DumpContext ctx, String what) throws DumpException {
        try {
            if (!SockDiag.inOwnNetns(ctx.pid())) {
                throw DumpException.unsupported(what + ": a socket in another network namespace than fdrestore's,"
                        + " for which sock_diag answers");
            }
        } catch (IOException e) {
            throw new DumpException(what + ": cannot read the network namespace of task " + ctx.pid() + ": " + e, e);
        }
    }

    /** Every bound netlink socket of {@code protocol} in this network namespace, by inode. */
    static Map<Long, Diag> diag(int protocol) throws SysException {
        byte[] req = new byte[20]; // struct netlink_diag_req
        req[0] = (byte) NetlinkKind.AF_NETLINK;
        req[1] = (byte) protocol;
        SockDiag.putInt(req, 8, NDIAG_SHOW_GROUPS);
        Map<Long, Diag> out = new HashMap<>();
        SockDiag.dump("sock_diag(AF_NETLINK, " + protocol + ")", req, MSG_LEN, (buf, at, end) -> {
            int state = buf[at + 3] & 0xff;
            int portid = SockDiag.intAt(buf, at + 4);
            int dstPortid = SockDiag.intAt(buf, at + 8);
            int dstGroup = SockDiag.intAt(buf, at + 12);
            long ino = Integer.toUnsignedLong(SockDiag.intAt(buf, at + 16));
            int[] groups = new int[0];
            int a = at + MSG_LEN;
            while (a + 4 <= end) {
                int len = (buf[a] & 0xff) | (buf[a + 1] & 0xff) << 8;
                int type = ((buf[a + 2] & 0xff) | (buf[a + 3] & 0xff) << 8) & 0x3fff;
                if (len < 4 || a + len > end) {
                    break;
                }
                if (type == NETLINK_DIAG_GROUPS) {
                    groups = new int[(len - 4) / 4];
                    for (int i = 0; i < groups.length; i++) {
                        groups[i] = SockDiag.intAt(buf, a + 4 + 4 * i);
                    }
                }
                a += (len + 3) & ~3;
            }
            out.put(ino, new Diag(state, portid, dstPortid, dstGroup, groups));
        });
        return out;
    }
}
