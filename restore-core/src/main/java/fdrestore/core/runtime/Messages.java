package fdrestore.core.runtime;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.TaskTable.Received;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.MsgHdr;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.SysException;
import java.util.Arrays;
import java.util.Objects;
/**
 * The sendmsg/recvmsg calls of an {@link ExecutorTaskTable}: a {@link MsgHdr} with its iovec, name and
 * SCM_RIGHTS control message encoded in the table's arena, and the answer of a receive decoded from it
 * (the executor plants the received fds at temporary numbers and reads the sender's credentials).
 */
final class Messages {
    /** Control room for a receive: the most fds a message carries, and the sender's credentials. */
    private static final int RECV_CONTROL = Linux.cmsgSpace(4 * Linux.SCM_MAX_FD) + Linux.cmsgSpace(Linux.UCRED_SIZE);

    private Messages() {
    }

    /** TaskTable.send. */
    static int send(ExecutorTaskTable t, int fd, byte[] data, int off, int len, int[] fds, int fdCount)
            throws SysException {
        Objects.checkFromIndexSize(off, len, data.length);
        return (int) sendmsg(t, fd, null, data, off, len, fds, fdCount, (c, a, r) -> "sendmsg(" + c.a0 + ", "
                + MsgHdr.dataLen(a.memory(), a.offset(c.a1)) + " bytes"
                + (MsgHdr.firstCmsg(a.memory(), a.offset(c.a1)) >= 0 ? ", SCM_RIGHTS " + rights(a, c.a1) : "")
                + ", MSG_DONTWAIT|MSG_NOSIGNAL)");
    }

    /** TaskTable.sendFds. */
    static int sendFds(ExecutorTaskTable t, int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds,
            int fdCount) throws SysException {
        if (fdCount < 0 || fdCount > Linux.SCM_MAX_FD) {
            throw new IllegalArgumentException("0.." + Linux.SCM_MAX_FD + " fds a message: " + fdCount);
        }
        if (payloadLen < 0 || payloadLen > (payload == null ? 0 : payload.length)) {
            throw new IllegalArgumentException("bad payload length " + payloadLen);
        }
        return (int) sendmsg(t, sock, dest, payload, 0, payloadLen, fds, fdCount, (c, a, r) -> "sendmsg(" + c.a0 + ", "
                + Native.sockaddr((byte[]) r) + ", " + MsgHdr.dataLen(a.memory(), a.offset(c.a1))
                + " bytes, SCM_RIGHTS " + rights(a, c.a1) + ", MSG_DONTWAIT|MSG_NOSIGNAL)");
    }

    /**
     * One sendmsg(MSG_DONTWAIT|MSG_NOSIGNAL) of {@code data[off, off+len)} with SCM_RIGHTS
     * {@code fds[0, fdCount)} to {@code dest} (null: connected); the answer is the kernel's, -1 on EAGAIN.
     */
    private static long sendmsg(ExecutorTaskTable t, int sock, byte[] dest, byte[] data, int off, int len, int[] fds,
            int fdCount, ExecutorTaskTable.CallText text) throws SysException {
        Arena arena = t.arena;
        synchronized (t.lock) {
            arena.reset(Arena.messageSpace(len, dest == null ? 0 : dest.length, fdCount));
            long msg = arena.putMessage(data, off, len, dest, fds, fdCount);
            return t.call(ExecutorCore.OP_SENDMSG, sock, msg, Linux.MSG_DONTWAIT | Linux.MSG_NOSIGNAL, 0, 0, dest, text);
        }
    }

    /** The SCM_RIGHTS fds of the msghdr at address {@code msg}, as a failure names them. */
    private static String rights(Arena a, long msg) {
        long cm = MsgHdr.firstCmsg(a.memory(), a.offset(msg));
        if (cm < 0) {
            return "[]";
        }
        int[] fds = new int[MsgHdr.intCount(a.memory(), cm)];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = a.memory().getInt(MsgHdr.data(cm) + 4L * i);
        }
        return Arrays.toString(fds);
    }

    /** TaskTable.recvFds. */
    static Received recvFds(ExecutorTaskTable t, int sock, byte[] payload, int[] fdsOut) throws SysException {
        int plen = payload == null ? 0 : payload.length;
        int cap = fdsOut == null ? 0 : fdsOut.length;
        Arena arena = t.arena;
        synchronized (t.lock) {
            arena.reset(Arena.space(MsgHdr.SIZE) + Arena.space(RECV_CONTROL) + Arena.space(plen)
                    + Arena.space(4 * Math.max(cap, 1)));
            long msg = arena.alloc(MsgHdr.SIZE);
            long cm = arena.alloc(RECV_CONTROL);
            long data = arena.alloc(Math.max(plen, 1));
            long out = arena.alloc(4 * Math.max(cap, 1));
            MsgHdr.build(arena.memory(), arena.offset(msg), data, plen, 0, 0, cm, RECV_CONTROL);
            long n = t.call(ExecutorCore.OP_RECVFDS, sock, msg, out, cap, 0, null,
                    (c, a, r) -> "recvmsg(" + c.a0 + ", MSG_DONTWAIT|MSG_CMSG_CLOEXEC)");
            if (n == TaskTable.AGAIN) {
                return Received.AGAIN;
            }
            if (n > 0) {
                arena.get(data, payload, 0, (int) Math.min(n, plen));
            }
            ExecutorCore core = t.core;
            int count = (int) core.r1;
            for (int i = 0; i < count; i++) {
                fdsOut[i] = arena.getInt(out + 4L * i);
            }
            return new Received((int) n, count, (int) core.r2, (int) core.r3, core.r4 != 0);
        }
    }
}
