package fdrestore.plugin.inetsocket;

import fdrestore.api.sys.SockDiag;
import fdrestore.api.sys.SysException;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal NETLINK_SOCK_DIAG client (inet_diag): the listen backlog of every TCP listener of one family,
 * by inode ({@code idiag_wqueue} is {@code sk_max_ack_backlog} for a listener, which neither /proc/net/tcp
 * nor getsockopt reports). It asks the network namespace of fdrestore itself.
 */
final class InetDiag {
    /** struct inet_diag_req_v2. */
    static final int REQ_LEN = 56;
    /** Offsets in struct inet_diag_msg. */
    static final int OFF_WQUEUE = 60;
    static final int OFF_INODE = 68;

    private InetDiag() {
    }

    /** inode -> backlog of the TCP listeners of {@code family}. */
    static Map<Long, Integer> listenBacklogs(int family) throws SysException {
        byte[] req = new byte[REQ_LEN];
        req[0] = (byte) family;
        req[1] = (byte) InetConst.IPPROTO_TCP;
        InetConst.putInt(req, 4, 1 << InetConst.TCP_LISTEN); // idiag_states
        Map<Long, Integer> out = new HashMap<>();
        SockDiag.dump("sock_diag(inet, family " + family + ")", req, OFF_INODE + 4, (buf, b, end) -> out.put(Integer.toUnsignedLong(InetConst.intAt(buf, b + OFF_INODE)),
                        InetConst.intAt(buf, b + OFF_WQUEUE)));
        return out;
    }

    /** struct inet_diag_msg, then its attributes. */
    static final int MSG_LEN = 72;
    static final int INET_DIAG_SHUTDOWN = 8;

    /** inode -> sk_shutdown (INET_DIAG_SHUTDOWN) of every socket of {@code family} and {@code proto}. */
    static Map<Long, Integer> shutdowns(int family, int proto) throws SysException {
        byte[] req = new byte[REQ_LEN];
        req[0] = (byte) family;
        req[1] = (byte) proto;
        InetConst.putInt(req, 4, -1); // every state
        Map<Long, Integer> out = new HashMap<>();
        SockDiag.dump("sock_diag(inet, family " + family + ", protocol " + proto + ")", req, MSG_LEN, (buf, b, end) -> {
            long ino = Integer.toUnsignedLong(InetConst.intAt(buf, b + OFF_INODE));
            for (int a = b + MSG_LEN; a + 4 <= end;) {
                int len = (buf[a] & 0xff) | (buf[a + 1] & 0xff) << 8;
                int type = (buf[a + 2] & 0xff) | (buf[a + 3] & 0xff) << 8;
                if (len < 4 || a + len > end) {
                    break;
                }
                if (type == INET_DIAG_SHUTDOWN && len >= 5) {
                    out.put(ino, buf[a + 4] & 0xff);
                }
                a += (len + 3) & ~3;
            }
        });
        return out;
    }
}
