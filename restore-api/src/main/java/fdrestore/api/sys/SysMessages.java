package fdrestore.api.sys;

import java.util.Arrays;
import jnr.ffi.Pointer;

/**
 * The message calls behind {@link Sys#receive}, {@link Sys#peek} and {@link Sys#sendmsg}: a msghdr, its
 * SCM_RIGHTS control data and the payload in one native allocation ({@link MsgHdr} lays them out).
 */
final class SysMessages {
    private static final LibC C = Native.libc();

    private SysMessages() {
    }

    /** {@link Sys#receive} and {@link Sys#peek}: one recvmsg with {@code flags}; null on EAGAIN with MSG_DONTWAIT. */
    static Sys.Received receive(int fd, int size, int flags, String flagNames) throws SysException {
        final int control = 4096;
        int base = MsgHdr.SIZE;
        Pointer m = Native.allocate((long) base + control + size);
        long a = m.address();
        MsgHdr.build(m, 0, a + base + control, size, 0, 0, a + base, control);
        long n;
        do {
            n = C.recvmsg(fd, a, flags);
        } while (n < 0 && Native.errno() == Errno.EINTR);
        if (n < 0) {
            int e = Native.errno();
            if (e == Errno.EAGAIN && (flags & Linux.MSG_DONTWAIT) != 0) {
                return null;
            }
            throw new SysException("recvmsg(" + fd + ", " + flagNames + ")", e);
        }
        int msgFlags = MsgHdr.flags(m, 0);
        int[] fds = new int[0];
        for (long cm = MsgHdr.firstCmsg(m, 0); cm >= 0; cm = MsgHdr.nextCmsg(m, 0, cm)) {
            if (MsgHdr.isRights(m, cm)) {
                int k = MsgHdr.intCount(m, cm);
                int from = fds.length;
                fds = Arrays.copyOf(fds, from + k);
                for (int i = 0; i < k; i++) {
                    fds[from + i] = m.getInt(MsgHdr.data(cm) + 4L * i);
                }
            }
        }
        byte[] out = new byte[(int) Math.min(n, size)];
        m.get(base + control, out, 0, out.length);
        return new Sys.Received(out, msgFlags, fds);
    }

    /** {@link Sys#sendmsg}. */
    static long sendmsg(int fd, byte[] dest, byte[] payload, int len, int[] fds, int fdCount, int flags)
            throws SysException {
        if (fdCount > Linux.SCM_MAX_FD) {
            throw new IllegalArgumentException("at most " + Linux.SCM_MAX_FD + " fds a message: " + fdCount);
        }
        int ctrl = MsgHdr.rightsSpace(fdCount);
        int nameLen = dest == null ? 0 : dest.length;
        int base = MsgHdr.SIZE;
        Pointer m = Native.allocate((long) base + ctrl + nameLen + len);
        long a = m.address();
        long ctrlOff = base;
        long nameOff = ctrlOff + ctrl;
        long dataOff = nameOff + nameLen;
        if (len > 0) {
            m.put(dataOff, payload, 0, len);
        }
        if (nameLen > 0) {
            m.put(nameOff, dest, 0, nameLen);
        }
        if (fdCount > 0) {
            MsgHdr.putRights(m, ctrlOff, fds, fdCount);
        }
        MsgHdr.build(m, 0, a + dataOff, len, nameLen > 0 ? a + nameOff : 0, nameLen, fdCount > 0 ? a + ctrlOff : 0, ctrl);
        long n = C.sendmsg(fd, a, flags);
        if (n < 0) {
            int e = Native.errno();
            if (e == Errno.EAGAIN) {
                return -1;
            }
            throw new SysException("sendmsg(" + fd + ", " + Native.sockaddr(dest) + ", " + len + " bytes, fds "
                    + Arrays.toString(Arrays.copyOf(fds, fdCount)) + ")", e);
        }
        return n;
    }
}
