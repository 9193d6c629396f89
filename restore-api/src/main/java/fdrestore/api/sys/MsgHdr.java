package fdrestore.api.sys;

import jnr.ffi.Pointer;

/**
 * {@code struct msghdr} (with one {@code struct iovec} right after it) and {@code struct cmsghdr}, written
 * and read in place in native memory: the one builder and parser of sendmsg/recvmsg arguments, for
 * {@link Sys}, the task tables and their executor threads. Static, allocation-free and class-loading-free
 * once loaded, so executors may call it (it is native-only in that sense).
 *
 * <p>Every position is an offset into {@code m}; the addresses stored in the structures are absolute
 * ({@code m.address() + offset}), as the kernel wants them.
 */
public final class MsgHdr {
    /** Bytes {@link #build} writes: the msghdr, then its one iovec. */
    public static final int SIZE = Linux.MSGHDR_SIZE + Linux.IOVEC_SIZE;

    private MsgHdr() {
    }

    /** CMSG_SPACE of one SCM_RIGHTS message of {@code count} fds; 0 for none. */
    public static int rightsSpace(int count) {
        return count > 0 ? Linux.cmsgSpace(4 * count) : 0;
    }

    /**
     * Writes a msghdr at offset {@code at} of {@code m} and its one iovec just after it: {@code dataLen}
     * bytes at address {@code data}, the name {@code name} of {@code nameLen} bytes (0 for none), the
     * control buffer {@code control} of {@code controlLen} bytes (0 for none), msg_flags 0.
     */
    public static void build(Pointer m, long at, long data, long dataLen, long name, int nameLen, long control,
            long controlLen) {
        long iov = at + Linux.MSGHDR_SIZE;
        m.putLong(at + Linux.MSGHDR_OFF_MSG_NAME, name);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_NAMELEN, nameLen & 0xffffffffL);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_IOV, m.address() + iov);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_IOVLEN, 1);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_CONTROL, control);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_CONTROLLEN, controlLen);
        m.putLong(at + Linux.MSGHDR_OFF_MSG_FLAGS, 0);
        m.putLong(iov, data);
        m.putLong(iov + 8, dataLen);
    }

    /**
     * Writes one SCM_RIGHTS cmsghdr carrying {@code fds[0, count)} at offset {@code at} of {@code m}; it
     * takes {@link #rightsSpace}{@code (count)} bytes.
     */
    public static void putRights(Pointer m, long at, int[] fds, int count) {
        m.putLong(at + Linux.CMSGHDR_OFF_CMSG_LEN, Linux.cmsgLen(4 * count));
        m.putInt(at + Linux.CMSGHDR_OFF_CMSG_LEVEL, Linux.SOL_SOCKET);
        m.putInt(at + Linux.CMSGHDR_OFF_CMSG_TYPE, Linux.SCM_RIGHTS);
        for (int i = 0; i < count; i++) {
            m.putInt(at + Linux.CMSGHDR_SIZE + 4L * i, fds[i]);
        }
    }

    /** msg_flags of the msghdr at {@code msg} (MSG_TRUNC, MSG_CTRUNC after a recvmsg). */
    public static int flags(Pointer m, long msg) {
        return m.getInt(msg + Linux.MSGHDR_OFF_MSG_FLAGS);
    }

    /** The length of the iovec of the msghdr at {@code msg}. */
    public static long dataLen(Pointer m, long msg) {
        return m.getLong(msg + Linux.MSGHDR_SIZE + 8);
    }

    /** msg_namelen of the msghdr at {@code msg}. */
    public static int nameLen(Pointer m, long msg) {
        return m.getInt(msg + Linux.MSGHDR_OFF_MSG_NAMELEN);
    }

    /** The offset in {@code m} of the name of the msghdr at {@code msg} (which must have one). */
    public static long nameAt(Pointer m, long msg) {
        return m.getLong(msg + Linux.MSGHDR_OFF_MSG_NAME) - m.address();
    }

    /** The offset in {@code m} of the first whole cmsghdr of the msghdr at {@code msg}, or -1 when none. */
    public static long firstCmsg(Pointer m, long msg) {
        return cmsgAt(m, msg, 0);
    }

    /** The offset of the cmsghdr after {@code cmsg} in the msghdr at {@code msg}, or -1 when none. */
    public static long nextCmsg(Pointer m, long msg, long cmsg) {
        long ctrl = m.getLong(msg + Linux.MSGHDR_OFF_MSG_CONTROL) - m.address();
        long len = m.getLong(cmsg + Linux.CMSGHDR_OFF_CMSG_LEN);
        return cmsgAt(m, msg, cmsg - ctrl + ((len + 7) & ~7L));
    }

    /** A cmsghdr at {@code rel} bytes into the control buffer, if it lies wholly inside msg_controllen. */
    private static long cmsgAt(Pointer m, long msg, long rel) {
        long clen = m.getLong(msg + Linux.MSGHDR_OFF_MSG_CONTROLLEN);
        if (rel + Linux.CMSGHDR_SIZE > clen) {
            return -1;
        }
        long at = m.getLong(msg + Linux.MSGHDR_OFF_MSG_CONTROL) - m.address() + rel;
        long len = m.getLong(at + Linux.CMSGHDR_OFF_CMSG_LEN);
        if (len < Linux.CMSGHDR_SIZE || rel + len > clen) {
            return -1;
        }
        return at;
    }

    /** cmsg_level of the cmsghdr at {@code cmsg}. */
    public static int level(Pointer m, long cmsg) {
        return m.getInt(cmsg + Linux.CMSGHDR_OFF_CMSG_LEVEL);
    }

    /** cmsg_type of the cmsghdr at {@code cmsg}. */
    public static int type(Pointer m, long cmsg) {
        return m.getInt(cmsg + Linux.CMSGHDR_OFF_CMSG_TYPE);
    }

    /** Whether the cmsghdr at {@code cmsg} is SOL_SOCKET / SCM_RIGHTS. */
    public static boolean isRights(Pointer m, long cmsg) {
        return level(m, cmsg) == Linux.SOL_SOCKET && type(m, cmsg) == Linux.SCM_RIGHTS;
    }

    /** Whether the cmsghdr at {@code cmsg} is SOL_SOCKET / SCM_CREDENTIALS. */
    public static boolean isCredentials(Pointer m, long cmsg) {
        return level(m, cmsg) == Linux.SOL_SOCKET && type(m, cmsg) == Linux.SCM_CREDENTIALS;
    }

    /** The offset of the data of the cmsghdr at {@code cmsg}. */
    public static long data(long cmsg) {
        return cmsg + Linux.CMSGHDR_SIZE;
    }

    /** How many whole ints (fds, for SCM_RIGHTS) the data of the cmsghdr at {@code cmsg} holds. */
    public static int intCount(Pointer m, long cmsg) {
        return (int) ((m.getLong(cmsg + Linux.CMSGHDR_OFF_CMSG_LEN) - Linux.CMSGHDR_SIZE) / 4);
    }
}
