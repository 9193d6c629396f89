package fdrestore.plugin.unixsocket;

import fdrestore.api.sys.SockDiag;
import fdrestore.api.sys.SysException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal NETLINK_SOCK_DIAG client for AF_UNIX (unix_diag): every unix socket of fdrestore's network
 * namespace with its type, state, name, bound inode, peer, pending connections (for a listener), queue
 * lengths and shutdown state. One dump request answers for all sockets.
 */
final class UnixDiag {
    static final int AF_UNIX = 1;
    /** struct unix_diag_req. */
    static final int REQ_LEN = 24;
    /** struct unix_diag_msg. */
    static final int MSG_LEN = 16;
    static final int UNIX_DIAG_NAME = 0;
    static final int UNIX_DIAG_VFS = 1;
    static final int UNIX_DIAG_PEER = 2;
    static final int UNIX_DIAG_ICONS = 3;
    static final int UNIX_DIAG_RQLEN = 4;
    static final int UNIX_DIAG_SHUTDOWN = 6;
    static final int UDIAG_SHOW_NAME = 1;
    static final int UDIAG_SHOW_VFS = 2;
    static final int UDIAG_SHOW_PEER = 4;
    static final int UDIAG_SHOW_ICONS = 8;
    static final int UDIAG_SHOW_RQLEN = 16;
    static final int SHOW = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;

    /**
     * One socket as sock_diag reports it. {@code name} is sun_path as the kernel keeps it (a path with its
     * trailing NUL, an abstract name with its leading NUL; empty when unbound); {@code vfsIno}/{@code vfsDev}
     * the inode of the bound file (0 when none); {@code icons} the inodes of the clients queued on a
     * listener; {@code rqueue}/{@code wqueue} the receive/send queue lengths (for a listener: pending
     * connections and backlog).
     */
    record Sock(long ino, int type, int state, byte[] name, long vfsIno, long vfsDev, long peer, long[] icons,
                long rqueue, long wqueue, int shutdown) {
        @Override
        public String toString() {
            return "unix socket " + ino + " type " + type + " state " + state + " peer " + peer + " icons "
                    + Arrays.toString(icons);
        }
    }

    private UnixDiag() {
    }

    /** Every unix socket, by inode. */
    static Map<Long, Sock> all() throws SysException {
        byte[] req = new byte[REQ_LEN];
        req[0] = (byte) AF_UNIX;
        putInt(req, 4, -1); // udiag_states: all
        putInt(req, 12, SHOW);
        Map<Long, Sock> out = new HashMap<>();
        SockDiag.dump("sock_diag(unix)", req, MSG_LEN, (buf, b, end) -> {
            Sock s = parse(buf, b, end);
            out.put(s.ino(), s);
        });
        return out;
    }

    /** Parses one unix_diag_msg and its attributes in {@code buf[b, end)}. */
    static Sock parse(byte[] buf, int b, int end) {
        int type = buf[b + 1] & 0xff;
        int state = buf[b + 2] & 0xff;
        long ino = Integer.toUnsignedLong(intAt(buf, b + 4));
        byte[] name = new byte[0];
        long vfsIno = 0;
        long vfsDev = 0;
        long peer = 0;
        long[] icons = new long[0];
        long rq = 0;
        long wq = 0;
        int shutdown = 0;
        int a = b + MSG_LEN;
        while (a + 4 <= end) {
            int alen = (buf[a] & 0xff) | (buf[a + 1] & 0xff) << 8;
            int atype = ((buf[a + 2] & 0xff) | (buf[a + 3] & 0xff) << 8) & 0x3fff;
            if (alen < 4 || a + alen > end) {
                break;
            }
            int p = a + 4;
            int plen = alen - 4;
            switch (atype) {
                case UNIX_DIAG_NAME -> name = Arrays.copyOfRange(buf, p, p + plen);
                case UNIX_DIAG_VFS -> {
                    vfsIno = Integer.toUnsignedLong(intAt(buf, p));
                    vfsDev = Integer.toUnsignedLong(intAt(buf, p + 4));
                }
                case UNIX_DIAG_PEER -> peer = Integer.toUnsignedLong(intAt(buf, p));
                case UNIX_DIAG_ICONS -> {
                    icons = new long[plen / 4];
                    for (int i = 0; i < icons.length; i++) {
                        icons[i] = Integer.toUnsignedLong(intAt(buf, p + 4 * i));
                    }
                }
                case UNIX_DIAG_RQLEN -> {
                    rq = Integer.toUnsignedLong(intAt(buf, p));
                    wq = Integer.toUnsignedLong(intAt(buf, p + 4));
                }
                case UNIX_DIAG_SHUTDOWN -> shutdown = buf[p] & 0xff;
                default -> {
                    // not asked for
                }
            }
            a += (alen + 3) & ~3;
        }
        return new Sock(ino, type, state, name, vfsIno, vfsDev, peer, icons, rq, wq, shutdown);
    }

    static int intAt(byte[] b, int off) {
        return SockDiag.intAt(b, off);
    }

    static void putInt(byte[] b, int off, int v) {
        SockDiag.putInt(b, off, v);
    }
}
