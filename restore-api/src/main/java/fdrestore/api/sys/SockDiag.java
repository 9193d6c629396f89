package fdrestore.api.sys;

/**
 * A NETLINK_SOCK_DIAG client of fdrestore's own network namespace: one SOCK_DIAG_BY_FAMILY dump request,
 * and every answer handed to the caller, who knows its family's message layout (inet_diag_msg,
 * unix_diag_msg, ...). The netlink framing, the bounds of each message and the errors are checked here.
 */
public final class SockDiag {
    static final int NLM_F_REQUEST = 1;
    static final int NLM_F_DUMP = 0x300;
    static final int SOCK_DIAG_BY_FAMILY = 20;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLMSG_HDRLEN = 16;

    private SockDiag() {
    }

    /** One answer: {@code buf[at, end)} is its message (after the netlink header) with its attributes. */
    @FunctionalInterface
    public interface Answer {
        void accept(byte[] buf, int at, int end);
    }

    /**
     * Sends a SOCK_DIAG_BY_FAMILY dump request with the family's request struct {@code req}, then hands every
     * answer of at least {@code minLen} bytes to {@code answer}, until NLMSG_DONE or an acknowledgement. An
     * NLMSG_ERROR fails with its errno, the call named {@code what}.
     */
    public static void dump(String what, byte[] req, int minLen, Answer answer) throws SysException {
        int fd = Sys.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_SOCK_DIAG);
        try {
            int flags = NLM_F_REQUEST | NLM_F_DUMP;
            byte[] msg = new byte[NLMSG_HDRLEN + req.length];
            putInt(msg, 0, msg.length);
            msg[4] = (byte) SOCK_DIAG_BY_FAMILY;
            msg[6] = (byte) flags;
            msg[7] = (byte) (flags >>> 8);
            putInt(msg, 8, 1); // seq
            System.arraycopy(req, 0, msg, NLMSG_HDRLEN, req.length);
            Sys.write(fd, msg, 0, msg.length);
            byte[] buf = new byte[1 << 16];
            while (true) {
                int n = Sys.read(fd, buf, 0, buf.length);
                if (n <= 0) {
                    return;
                }
                int off = 0;
                while (off + NLMSG_HDRLEN <= n) {
                    int len = intAt(buf, off);
                    int type = (buf[off + 4] & 0xff) | (buf[off + 5] & 0xff) << 8;
                    if (len < NLMSG_HDRLEN || off + len > n) {
                        throw new IllegalStateException(what + ": bad message length " + len);
                    }
                    if (type == NLMSG_DONE) {
                        return;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = -intAt(buf, off + NLMSG_HDRLEN);
                        if (err == 0) {
                            return; // an acknowledgement
                        }
                        throw new SysException(what, err);
                    }
                    if (type == SOCK_DIAG_BY_FAMILY && len >= NLMSG_HDRLEN + minLen) {
                        answer.accept(buf, off + NLMSG_HDRLEN, off + len);
                    }
                    off += (len + 3) & ~3;
                }
            }
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    /**
     * True if task {@code pid} is in fdrestore's own network namespace, the one sock_diag answers for (a
     * socket of a task in another one cannot be looked up here).
     */
    public static boolean inOwnNetns(int pid) throws java.io.IOException {
        java.nio.file.Path theirs = java.nio.file.Path.of("/proc", Integer.toString(pid), "ns", "net");
        return java.nio.file.Files.readSymbolicLink(theirs)
                .equals(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/net")));
    }

    /** The little-endian u32 at {@code buf[off]}. */
    public static int intAt(byte[] buf, int off) {
        return (buf[off] & 0xff) | (buf[off + 1] & 0xff) << 8 | (buf[off + 2] & 0xff) << 16 | (buf[off + 3] & 0xff) << 24;
    }

    /** Writes {@code v} little-endian at {@code buf[off]}. */
    public static void putInt(byte[] buf, int off, int v) {
        buf[off] = (byte) v;
        buf[off + 1] = (byte) (v >>> 8);
        buf[off + 2] = (byte) (v >>> 16);
        buf[off + 3] = (byte) (v >>> 24);
    }
}
