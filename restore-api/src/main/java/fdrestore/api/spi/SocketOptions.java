package fdrestore.api.spi;

import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.nio.charset.StandardCharsets;

/**
 * The SOL_SOCKET options criu records for every socket kind ({@code SkOptsEntry}), dumped from a socket of
 * the JVM's own table and restored on a socket of a task's table, for plugins of socket kinds that have no
 * options of their own to mix in (netlink, packet).
 *
 * <p>Buffer sizes: the image holds what getsockopt returned, twice what setsockopt was given (the kernel
 * doubles it). So half the image value is set with SO_SNDBUFFORCE/SO_RCVBUFFORCE, and only when it differs
 * from the new socket's or the task had locked it (a default size stays unlocked); SO_BUF_LOCK then puts
 * the image's lock bits back where the kernel has it (5.14 and later). The flags and values are set only
 * when they differ from a new socket's defaults.
 */
public final class SocketOptions {
    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_DONTROUTE = 5;
    static final int SO_BROADCAST = 6;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_KEEPALIVE = 9;
    static final int SO_OOBINLINE = 10;
    static final int SO_NO_CHECK = 11;
    static final int SO_PRIORITY = 12;
    static final int SO_LINGER = 13;
    static final int SO_REUSEPORT = 15;
    static final int SO_PASSCRED = 16;
    static final int SO_RCVLOWAT = 18;
    static final int SO_RCVTIMEO = 20;
    static final int SO_SNDTIMEO = 21;
    static final int SO_BINDTODEVICE = 25;
    static final int SO_SNDBUFFORCE = 32;
    static final int SO_RCVBUFFORCE = 33;
    static final int SO_PASSSEC = 34;
    static final int SO_MARK = 36;
    static final int SO_BUF_LOCK = 72;
    static final int ENOPROTOOPT = 92;
    /** sk_userlocks bits, as criu records them in so_buf_lock. */
    static final int SOCK_SNDBUF_LOCK = 1;
    static final int SOCK_RCVBUF_LOCK = 2;

    private SocketOptions() {
    }

    /**
     * The options of socket {@code fd} (of the JVM's table) as criu's dump records them; {@code creds} adds
     * SO_PASSCRED and SO_PASSSEC, which criu records for unix and netlink sockets only.
     */
    public static SkOptsEntry dump(int fd, boolean creds) throws SysException {
        SkOptsEntry.Builder o = SkOptsEntry.newBuilder()
                .setSoSndbuf(Sys.getsockoptInt(fd, SOL_SOCKET, SO_SNDBUF))
                .setSoRcvbuf(Sys.getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF));
        long[] snd = timeval(fd, SO_SNDTIMEO);
        long[] rcv = timeval(fd, SO_RCVTIMEO);
        o.setSoSndTmoSec(snd[0]).setSoSndTmoUsec(snd[1]).setSoRcvTmoSec(rcv[0]).setSoRcvTmoUsec(rcv[1]);
        o.setReuseaddr(Sys.getsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR) != 0);
        o.setSoPriority(Sys.getsockoptInt(fd, SOL_SOCKET, SO_PRIORITY));
        o.setSoRcvlowat(Sys.getsockoptInt(fd, SOL_SOCKET, SO_RCVLOWAT));
        int mark = Sys.getsockoptInt(fd, SOL_SOCKET, SO_MARK);
        if (mark != 0) {
            o.setSoMark(mark);
        }
        if (creds) {
            o.setSoPasscred(Sys.getsockoptInt(fd, SOL_SOCKET, SO_PASSCRED) != 0);
            o.setSoPasssec(Sys.getsockoptInt(fd, SOL_SOCKET, SO_PASSSEC) != 0);
        }
        o.setSoDontroute(Sys.getsockoptInt(fd, SOL_SOCKET, SO_DONTROUTE) != 0);
        o.setSoNoCheck(Sys.getsockoptInt(fd, SOL_SOCKET, SO_NO_CHECK) != 0);
        byte[] dev = new byte[16];
        int devLen = Math.max(0, Math.min(Sys.getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev), dev.length));
        int end = 0;
        while (end < devLen && dev[end] != 0) {
            end++;
        }
        if (end > 0) {
            o.setSoBoundDev(new String(dev, 0, end, StandardCharsets.UTF_8));
        }
        o.setSoReuseport(Sys.getsockoptInt(fd, SOL_SOCKET, SO_REUSEPORT) != 0);
        o.setSoBroadcast(Sys.getsockoptInt(fd, SOL_SOCKET, SO_BROADCAST) != 0);
        o.setSoKeepalive(Sys.getsockoptInt(fd, SOL_SOCKET, SO_KEEPALIVE) != 0);
        o.setSoOobinline(Sys.getsockoptInt(fd, SOL_SOCKET, SO_OOBINLINE));
        byte[] linger = new byte[8];
        Sys.getsockopt(fd, SOL_SOCKET, SO_LINGER, linger);
        if (intAt(linger, 0) != 0) {
            o.setSoLinger(intAt(linger, 4));
        }
        try {
            o.setSoBufLock(Sys.getsockoptInt(fd, SOL_SOCKET, SO_BUF_LOCK));
        } catch (SysException e) {
            if (e.errno() != ENOPROTOOPT) { // kernels before 5.14
                throw e;
            }
        }
        return o.build();
    }

    /**
     * Checks what a hostile image could set before any syscall: a bound device name longer than IFNAMSIZ-1
     * or a NUL inside it. Returns a description of the first bad field, or null.
     */
    public static String invalid(SkOptsEntry o) {
        if (o.hasSoBoundDev()) {
            byte[] dev = o.getSoBoundDev().getBytes(StandardCharsets.UTF_8);
            if (dev.length > 15 || o.getSoBoundDev().indexOf('\0') >= 0) {
                return "opts.so_bound_dev \"" + o.getSoBoundDev() + "\" is not an interface name (at most 15 bytes)";
            }
        }
        if (o.getSoFilterCount() > 0) {
            return "opts.so_filter: a socket filter (" + o.getSoFilterCount() + " instructions) cannot be restored";
        }
        return null;
    }

    /** Applies {@code o} to socket {@code fd} of {@code t} (see the class comment for what is set when). */
    public static void restore(TaskTable t, int fd, SkOptsEntry o) throws SysException {
        int lock = o.hasSoBufLock() ? o.getSoBufLock() : 0;
        buffer(t, fd, SO_SNDBUF, SO_SNDBUFFORCE, o.getSoSndbuf(), (lock & SOCK_SNDBUF_LOCK) != 0);
        buffer(t, fd, SO_RCVBUF, SO_RCVBUFFORCE, o.getSoRcvbuf(), (lock & SOCK_RCVBUF_LOCK) != 0);
        if (o.hasSoBufLock()) {
            byte[] cur = new byte[4];
            try {
                t.getsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, cur);
                if (intAt(cur, 0) != lock) {
                    t.setsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, intValue(lock));
                }
            } catch (SysException e) {
                if (e.errno() != ENOPROTOOPT || lock != 0) {
                    throw e;
                }
            }
        }
        timeout(t, fd, SO_SNDTIMEO, o.getSoSndTmoSec(), o.getSoSndTmoUsec());
        timeout(t, fd, SO_RCVTIMEO, o.getSoRcvTmoSec(), o.getSoRcvTmoUsec());
        flag(t, fd, SO_REUSEADDR, o.hasReuseaddr() && o.getReuseaddr());
        flag(t, fd, SO_REUSEPORT, o.hasSoReuseport() && o.getSoReuseport());
        flag(t, fd, SO_PASSCRED, o.hasSoPasscred() && o.getSoPasscred());
        flag(t, fd, SO_PASSSEC, o.hasSoPasssec() && o.getSoPasssec());
        flag(t, fd, SO_DONTROUTE, o.hasSoDontroute() && o.getSoDontroute());
        flag(t, fd, SO_NO_CHECK, o.hasSoNoCheck() && o.getSoNoCheck());
        flag(t, fd, SO_BROADCAST, o.hasSoBroadcast() && o.getSoBroadcast());
        flag(t, fd, SO_KEEPALIVE, o.hasSoKeepalive() && o.getSoKeepalive());
        flag(t, fd, SO_OOBINLINE, o.hasSoOobinline() && o.getSoOobinline() != 0);
        if (o.hasSoPriority() && o.getSoPriority() != 0) {
            t.setsockopt(fd, SOL_SOCKET, SO_PRIORITY, intValue(o.getSoPriority()));
        }
        if (o.hasSoMark() && o.getSoMark() != 0) {
            t.setsockopt(fd, SOL_SOCKET, SO_MARK, intValue(o.getSoMark()));
        }
        if (o.hasSoRcvlowat() && o.getSoRcvlowat() > 1) {
            t.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, intValue(o.getSoRcvlowat()));
        }
        if (o.hasSoLinger()) {
            byte[] v = new byte[8];
            putInt(v, 0, 1);
            putInt(v, 4, o.getSoLinger());
            t.setsockopt(fd, SOL_SOCKET, SO_LINGER, v);
        }
        if (o.hasSoBoundDev() && !o.getSoBoundDev().isEmpty()) {
            t.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.getSoBoundDev().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void buffer(TaskTable t, int fd, int get, int force, int want, boolean locked) throws SysException {
        if (want == 0) {
            return;
        }
        byte[] cur = new byte[4];
        t.getsockopt(fd, SOL_SOCKET, get, cur);
        if (locked || intAt(cur, 0) != want) {
            try {
                t.setsockopt(fd, SOL_SOCKET, force, intValue(Integer.divideUnsigned(want, 2)));
            } catch (SysException e) {
                if (e.errno() != Errno.EPERM) {
                    throw e;
                }
                t.setsockopt(fd, SOL_SOCKET, get, intValue(Integer.divideUnsigned(want, 2)));
            }
        }
    }

    private static void timeout(TaskTable t, int fd, int name, long sec, long usec) throws SysException {
        if (sec == 0 && usec == 0) {
            return;
        }
        byte[] v = new byte[16];
        putLong(v, 0, sec);
        putLong(v, 8, usec);
        t.setsockopt(fd, SOL_SOCKET, name, v);
    }

    private static void flag(TaskTable t, int fd, int name, boolean on) throws SysException {
        if (on) {
            t.setsockopt(fd, SOL_SOCKET, name, intValue(1));
        }
    }

    private static long[] timeval(int fd, int name) throws SysException {
        byte[] tv = new byte[16];
        Sys.getsockopt(fd, SOL_SOCKET, name, tv);
        return new long[] {longAt(tv, 0), longAt(tv, 8)};
    }

    /** The little-endian 4 bytes of {@code v}. */
    public static byte[] intValue(int v) {
        byte[] b = new byte[4];
        putInt(b, 0, v);
        return b;
    }

    /** The little-endian u32 at {@code b[off]}. */
    public static int intAt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    static long longAt(byte[] b, int off) {
        return Integer.toUnsignedLong(intAt(b, off)) | (long) intAt(b, off + 4) << 32;
    }

    /** Writes {@code v} little-endian at {@code b[off]}. */
    public static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) v);
        putInt(b, off + 4, (int) (v >>> 32));
    }
}
