package fdrestore.plugin.inetsocket;

import fdrestore.core.sys.Linux;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal NETLINK_SOCK_DIAG client (inet_diag): the listen backlog of every TCP listener of one family,
 * by inode ({@code idiag_wqueue} is {@code sk_max_ack_backlog} for a listener, which neither /proc/net/tcp
 * nor getsockopt reports). It asks the network namespace of fdrestore itself.
 */
final class InetDiag {
    static final int SOCK_DIAG_BY_FAMILY = 20;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 1;
    static final int NLM_F_DUMP = 0x300;
    static final int NLMSG_HDRLEN = 16;
    /** struct inet_diag_req_v2. */
    static final int REQ_LEN = 56;
    /** Offsets in struct inet_diag_msg. */
    static final int OFF_WQUEUE = 60;
    static final int OFF_INODE = 68;

    private InetDiag() {
    }

    /** inode -> backlog of the TCP listeners of {@code family}. */
    static Map<Long, Integer> listenBacklogs(int family) throws SysException {
        int fd = Sys.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_SOCK_DIAG);
        try {
            byte[] req = new byte[NLMSG_HDRLEN + REQ_LEN];
            InetConst.putInt(req, 0, req.length);
            req[4] = (byte) SOCK_DIAG_BY_FAMILY;
            int flags = NLM_F_REQUEST | NLM_F_DUMP;
            req[6] = (byte) flags;
            req[7] = (byte) (flags >>> 8);
            InetConst.putInt(req, 8, 1); // seq
            req[16] = (byte) family;
            req[17] = (byte) InetConst.IPPROTO_TCP;
            InetConst.putInt(req, 20, 1 << InetConst.TCP_LISTEN); // idiag_states
            Sys.write(fd, req, 0, req.length);
            Map<Long, Integer> out = new HashMap<>();
            byte[] buf = new byte[65536];
            while (true) {
                int n = Sys.read(fd, buf, 0, buf.length);
                if (n <= 0) {
                    return out;
                }
                int off = 0;
                while (off + NLMSG_HDRLEN <= n) {
                    int len = InetConst.intAt(buf, off);
                    int type = (buf[off + 4] & 0xff) | (buf[off + 5] & 0xff) << 8;
                    if (len < NLMSG_HDRLEN || off + len > n) {
                        throw new IllegalStateException("sock_diag: bad message length " + len);
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = -InetConst.intAt(buf, off + NLMSG_HDRLEN);
                        throw new SysException("sock_diag(inet, family " + family + ")", err);
                    }
                    if (type == SOCK_DIAG_BY_FAMILY && len >= NLMSG_HDRLEN + OFF_INODE + 4) {
                        int b = off + NLMSG_HDRLEN;
                        long ino = Integer.toUnsignedLong(InetConst.intAt(buf, b + OFF_INODE));
                        out.put(ino, InetConst.intAt(buf, b + OFF_WQUEUE));
                    }
                    off += (len + 3) & ~3;
                }
            }
        } finally {
            Sys.closeQuietly(fd);
        }
    }
}
