package fdrestore.plugin.unixsocket;

import fdrestore.core.sys.Linux;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal NETLINK_SOCK_DIAG client for AF_UNIX (unix_diag): every unix socket of fdrestore's network
 * namespace with its type, state, name, bound inode, peer, pending connections (for a listener), queue
 * lengths and shutdown state. One dump request answers for all sockets; {@link #one} asks for one inode.
 */
final class UnixDiag {
    static final int SOCK_DIAG_BY_FAMILY = 20;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 1;
    static final int NLM_F_DUMP = 0x300;
    static final int NLMSG_HDRLEN = 16;
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
        return query(0, NLM_F_REQUEST | NLM_F_DUMP);
    }

    /** The socket with inode {@code ino}, or null when sock_diag does not know it. */
    static Sock one(long ino) throws SysException {
        try {
            return query(ino, NLM_F_REQUEST).get(ino);
        } catch (SysException e) {
            if (e.errno() == 2 /* ENOENT */) {
                return null;
            }
            throw e;
        }
    }

    private static Map<Long, Sock> query(long ino, int flags) throws SysException {
        int fd = Sys.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_SOCK_DIAG);
        try {
            byte[] req = new byte[NLMSG_HDRLEN + REQ_LEN];
            putInt(req, 0, req.length);
            req[4] = (byte) SOCK_DIAG_BY_FAMILY;
            req[6] = (byte) flags;
            req[7] = (byte) (flags >>> 8);
            putInt(req, 8, 1); // seq
            int b = NLMSG_HDRLEN;
            req[b] = (byte) AF_UNIX;
            putInt(req, b + 4, -1); // udiag_states: all
            putInt(req, b + 8, (int) ino);
            putInt(req, b + 12, SHOW);
            if (ino != 0) {
                putInt(req, b + 16, -1); // udiag_cookie: INET_DIAG_NOCOOKIE
                putInt(req, b + 20, -1);
            }
            Sys.write(fd, req, 0, req.length);
            Map<Long, Sock> out = new HashMap<>();
            byte[] buf = new byte[1 << 16];
            while (true) {
                int n = Sys.read(fd, buf, 0, buf.length);
                if (n <= 0) {
                    return out;
                }
                int off = 0;
                boolean done = false;
                while (off + NLMSG_HDRLEN <= n) {
                    int len = intAt(buf, off);
                    int type = (buf[off + 4] & 0xff) | (buf[off + 5] & 0xff) << 8;
                    if (len < NLMSG_HDRLEN || off + len > n) {
                        throw new IllegalStateException("sock_diag(unix): bad message length " + len);
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = -intAt(buf, off + NLMSG_HDRLEN);
                        if (err == 0) {
                            return out;
                        }
                        throw new SysException("sock_diag(unix" + (ino != 0 ? ", inode " + ino : "") + ")", err);
                    }
                    if (type == SOCK_DIAG_BY_FAMILY && len >= NLMSG_HDRLEN + MSG_LEN) {
                        Sock s = parse(buf, off + NLMSG_HDRLEN, off + len);
                        out.put(s.ino(), s);
                        done = ino != 0;
                    }
                    off += (len + 3) & ~3;
                }
                if (done) {
                    return out; // a single answer (no NLMSG_DONE follows a non-dump request)
                }
            }
        } finally {
            Sys.closeQuietly(fd);
        }
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
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }
}
