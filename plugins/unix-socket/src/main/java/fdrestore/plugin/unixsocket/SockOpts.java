package fdrestore.plugin.unixsocket;

import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The SOL_SOCKET options of {@code SkOptsEntry} that mean something for a unix socket, applied the way
 * CRIU's restore_socket_opts does: buffer sizes with SO_SNDBUFFORCE/SO_RCVBUFFORCE at half the dumped value
 * (the kernel doubles what it is given), only when they differ from the new socket's or were locked by the
 * task (so a default size stays unlocked); the rest only when they differ from the kernel's default.
 */
final class SockOpts {
    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_DONTROUTE = 5;
    static final int SO_BROADCAST = 6;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_KEEPALIVE = 9;
    static final int SO_OOBINLINE = 10;
    static final int SO_PRIORITY = 12;
    static final int SO_REUSEPORT = 15;
    static final int SO_PASSCRED = 16;
    static final int SO_RCVLOWAT = 18;
    static final int SO_RCVTIMEO = 20;
    static final int SO_SNDTIMEO = 21;
    static final int SO_SNDBUFFORCE = 32;
    static final int SO_RCVBUFFORCE = 33;
    static final int SO_PASSSEC = 34;
    static final int SO_MARK = 36;
    /** sk_userlocks bits as CRIU dumps them in so_buf_lock. */
    static final int SOCK_SNDBUF_LOCK = 1;
    static final int SOCK_RCVBUF_LOCK = 2;

    private SockOpts() {
    }

    /** Applies {@code o} to socket {@code fd} of {@code t}. */
    static void apply(TaskTable t, int fd, SkOptsEntry o) throws SysException {
        if (o == null) {
            return;
        }
        int lock = o.hasSoBufLock() ? o.getSoBufLock() : 0;
        buffer(t, fd, SO_SNDBUF, SO_SNDBUFFORCE, o.getSoSndbuf(), (lock & SOCK_SNDBUF_LOCK) != 0);
        buffer(t, fd, SO_RCVBUF, SO_RCVBUFFORCE, o.getSoRcvbuf(), (lock & SOCK_RCVBUF_LOCK) != 0);
        timeout(t, fd, SO_SNDTIMEO, o.getSoSndTmoSec(), o.getSoSndTmoUsec());
        timeout(t, fd, SO_RCVTIMEO, o.getSoRcvTmoSec(), o.getSoRcvTmoUsec());
        flag(t, fd, SO_REUSEADDR, o.hasReuseaddr() && o.getReuseaddr());
        flag(t, fd, SO_REUSEPORT, o.hasSoReuseport() && o.getSoReuseport());
        flag(t, fd, SO_PASSCRED, o.hasSoPasscred() && o.getSoPasscred());
        flag(t, fd, SO_PASSSEC, o.hasSoPasssec() && o.getSoPasssec());
        flag(t, fd, SO_DONTROUTE, o.hasSoDontroute() && o.getSoDontroute());
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
    }

    private static void buffer(TaskTable t, int fd, int get, int force, int want, boolean locked) throws SysException {
        if (want == 0) {
            return;
        }
        byte[] cur = new byte[4];
        t.getsockopt(fd, SOL_SOCKET, get, cur);
        if (locked || intOf(cur) != want) {
            t.setsockopt(fd, SOL_SOCKET, force, intValue(Integer.divideUnsigned(want, 2)));
        }
    }

    private static void timeout(TaskTable t, int fd, int name, long sec, long usec) throws SysException {
        if (sec == 0 && usec == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(sec).putLong(usec);
        t.setsockopt(fd, SOL_SOCKET, name, b.array());
    }

    private static void flag(TaskTable t, int fd, int name, boolean on) throws SysException {
        if (on) {
            t.setsockopt(fd, SOL_SOCKET, name, intValue(1));
        }
    }

    static byte[] intValue(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static int intOf(byte[] b) {
        return ByteBuffer.wrap(b, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }
}
