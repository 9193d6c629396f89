package fdrestore.plugin.inetsocket;

import fdrestore.core.sys.SockDiag;
import fdrestore.core.sys.SysException;
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
}
