package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the receive queue of a unix socket without consuming it: recvmsg(MSG_PEEK | MSG_DONTWAIT) on a
 * pidfd_getfd copy of the receiving socket (the same socket, so the same queue).
 *
 * <p>A stream socket is peeked in one call: with no peek offset set, the kernel's stream peek walks every
 * queued buffer (it stops early only at a buffer that carries fds), so one call returns all
 * {@code expected} bytes; they are recorded as one packet (a byte stream has no boundaries to keep).
 * Datagram and seqpacket sockets keep their boundaries: SO_PEEK_OFF is set to 0 so that each peek
 * returns the next packet, and put back to its old value (normally -1, off) afterwards, whatever happens.
 * While it is set, a peek by the task itself would start past the packets already copied: dump with
 * --freeze when the task may peek concurrently.
 *
 * <p>Fds passed with SCM_RIGHTS are out of scope: a peek of such a packet installs copies in fdrestore's
 * table, which are closed at once, and the socket is refused ({@link DumpException#unsupported}).
 * SCM_CREDENTIALS are dropped (a restore cannot forge them anyway).
 */
final class QueuePeek {
    static final int SO_PEEK_OFF = 42;
    static final int SO_RCVBUF = 8;
    static final int MAX_BUF = 64 << 20;
    static final int MAX_PACKETS = 1 << 20;
    static final int CONTROL = 4096;

    private QueuePeek() {
    }

    /** The queued bytes of a stream socket ({@code expected} of them, from sock_diag), as one chunk. */
    static byte[] stream(int fd, long expected, String what) throws DumpException {
        if (expected <= 0) {
            return new byte[0];
        }
        if (expected > MAX_BUF) {
            throw new DumpException(what + ": " + expected + " queued bytes (more than " + MAX_BUF + " are not dumped)");
        }
        byte[] got = peek(fd, (int) expected + 1, what, true);
        if (got == null || got.length != expected) {
            throw new DumpException(what + ": peeked " + (got == null ? 0 : got.length) + " of the " + expected
                    + " queued bytes (the queue changed during the dump; --freeze stops the tree while it is dumped)");
        }
        return got;
    }

    /** Every queued packet of a datagram or seqpacket socket, in queue order. */
    static List<byte[]> packets(int fd, String what) throws DumpException {
        int old;
        int size;
        try {
            old = Sys.getsockoptInt(fd, Linux.SOL_SOCKET, SO_PEEK_OFF);
            size = Math.min(MAX_BUF, Math.max(1 << 18, 2 * Sys.getsockoptInt(fd, Linux.SOL_SOCKET, SO_RCVBUF)));
            Sys.setsockoptInt(fd, Linux.SOL_SOCKET, SO_PEEK_OFF, 0);
        } catch (SysException e) {
            throw new DumpException(what + ": SO_PEEK_OFF: " + e.getMessage(), e);
        }
        List<byte[]> out = new ArrayList<>();
        DumpException failure = null;
        try {
            for (int i = 0; i < MAX_PACKETS; i++) {
                byte[] p = peek(fd, size, what, false);
                if (p == null) {
                    return out;
                }
                if (p.length == 0) {
                    throw DumpException.unsupported(what + ": a zero-length datagram in the queue (packet " + i
                            + "): a peek cannot step past it");
                }
                out.add(p);
            }
            throw new DumpException(what + ": more than " + MAX_PACKETS + " queued packets");
        } catch (DumpException e) {
            failure = e;
            throw e;
        } finally {
            try {
                Sys.setsockoptInt(fd, Linux.SOL_SOCKET, SO_PEEK_OFF, old);
            } catch (SysException e) {
                if (failure == null) {
                    throw new DumpException(what + ": cannot put SO_PEEK_OFF back to " + old + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** One recvmsg(MSG_PEEK | MSG_DONTWAIT) of up to {@code size} bytes; null when the queue is empty. */
    private static byte[] peek(int fd, int size, String what, boolean stream) throws DumpException {
        Sys.Peeked p;
        try {
            p = Sys.peek(fd, size);
        } catch (SysException e) {
            throw new DumpException(what + ": " + e.getMessage());
        }
        if (p == null) {
            return null;
        }
        if (p.passedFds() > 0 || (p.flags() & Linux.MSG_CTRUNC) != 0) {
            throw DumpException.unsupported(what + ": a queued message passes "
                    + (p.passedFds() > 0 ? p.passedFds() + " fd(s)" : "control data")
                    + " (SCM_RIGHTS): fds in flight are not dumped");
        }
        if (!stream && (p.flags() & Linux.MSG_TRUNC) != 0) {
            throw new DumpException(what + ": a queued packet is larger than " + size + " bytes");
        }
        return p.data();
    }
}
