package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_APPEND;
import static fdrestore.api.sys.Linux.O_ASYNC;
import static fdrestore.api.sys.Linux.O_DIRECT;
import static fdrestore.api.sys.Linux.O_DSYNC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NOATIME;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_SYNC;
import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_APPEND;
import static fdrestore.api.sys.Linux.O_DSYNC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NOATIME;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_SYNC;

import fdrestore.api.spi.TaskTable;

/**
 * The tty constants of x86-64 Linux this plugin needs (include/uapi/asm-generic/ioctls.h,
 * include/uapi/linux/major.h) and a few small helpers. {@code fdrestore.api.sys.Linux} has the pty ioctls
 * of the design; the termios ones it lacks are here.
 */
final class Tty {
    private Tty() {
    }

    // ioctls
    static final long TCGETS = 0x5401;
    static final long TCSETS = 0x5402;
    static final long TIOCEXCL = 0x540C;
    static final long TIOCSCTTY = 0x540E;
    static final long TIOCSPGRP = 0x5410;
    static final long TIOCSTI = 0x5412;
    static final long TIOCGWINSZ = 0x5413;
    static final long TIOCSWINSZ = 0x5414;
    static final long TIOCPKT = 0x5420;
    static final long TIOCGPTN = 0x80045430L;
    static final long TIOCSPTLCK = 0x40045431L;
    static final long TIOCGPKT = 0x80045438L;
    static final long TIOCGPTLCK = 0x80045439L;
    static final long TIOCGEXCL = 0x80045440L;
    static final long TIOCGPTPEER = 0x5441;
    static final long TIOCGLCKTRMIOS = 0x5456;
    static final long TIOCSLCKTRMIOS = 0x5457;

    // majors
    static final int TTYAUX_MAJOR = 5;
    static final int PTMX_MINOR = 2;
    static final int UNIX98_PTY_MASTER_MAJOR = 128;
    static final int UNIX98_PTY_SLAVE_MAJOR = 136;
    static final int UNIX98_PTY_MAJOR_COUNT = 8;

    /** One more than the highest pty index the kernel hands out (NR_UNIX98_PTY_MAX, 1 &lt;&lt; MINORBITS). */
    static final int MAX_PTY_INDEX = 1 << 20;

    /** CRIU's TtyType values (tty.proto). */
    static final int TYPE_PTY = 1;
    static final int TYPE_CTTY = 4;

    /** criu's tty-info id of the controlling-terminal files (/dev/tty): its CTTY_INDEX 1006, shifted. */
    static final int CTTY_INFO_ID = 1006 << 1;

    /** /dev/tty: the controlling terminal of whoever opens it (char 5:0). */
    static boolean isCtty(long rdev) {
        return major(rdev) == TTYAUX_MAJOR && minor(rdev) == 0;
    }

    /** Flags of a TtyFileEntry an open(2) of an existing device may pass on (never create or truncate). */
    static final int OPEN_MASK = O_ACCMODE | O_NONBLOCK | O_APPEND | O_LARGEFILE | O_NOATIME | O_DSYNC | O_SYNC;


    static String typeName(int type) {
        return switch (type) {
            case 0 -> "UNKNOWN";
            case 1 -> "PTY";
            case 2 -> "CONSOLE";
            case 3 -> "VT";
            case 4 -> "CTTY";
            case 5 -> "EXT_TTY";
            case 6 -> "SERIAL";
            default -> "type " + type;
        };
    }

    /** major() of a dev_t as stat(2) reports it (glibc's encoding, as CRIU stores it). */
    static int major(long dev) {
        return (int) (((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL));
    }

    /** minor() of a dev_t as stat(2) reports it. */
    static int minor(long dev) {
        return (int) ((dev & 0xff) | ((dev >>> 12) & ~0xffL));
    }

    static boolean isPtyMaster(long rdev) {
        int maj = major(rdev);
        return maj == TTYAUX_MAJOR && minor(rdev) == PTMX_MINOR
                || maj >= UNIX98_PTY_MASTER_MAJOR && maj < UNIX98_PTY_MASTER_MAJOR + UNIX98_PTY_MAJOR_COUNT;
    }

    static boolean isPtySlave(long rdev) {
        int maj = major(rdev);
        return maj >= UNIX98_PTY_SLAVE_MAJOR && maj < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT;
    }

    /** The pty index of a slave device (/dev/pts/N: major 136 + N / 256, minor N % 256). */
    static int slaveIndex(long rdev) {
        return (major(rdev) - UNIX98_PTY_SLAVE_MAJOR) * 256 + minor(rdev);
    }

    static String dev(long rdev) {
        return major(rdev) + ":" + minor(rdev);
    }

    static byte[] intArg(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    static int intOf(byte[] b) {
        return (b[0] & 255) | (b[1] & 255) << 8 | (b[2] & 255) << 16 | (b[3] & 255) << 24;
    }

    /** An ioctl that reads one int through a pointer (TIOCGPTN ...). */
    static int getInt(TaskTable t, int fd, long request) throws fdrestore.api.sys.SysException {
        byte[] b = new byte[4];
        t.ioctl(fd, request, b);
        return intOf(b);
    }

    /** An ioctl that passes one int through a pointer (TIOCSPTLCK, TIOCPKT ...). */
    static void setInt(TaskTable t, int fd, long request, int v) throws fdrestore.api.sys.SysException {
        t.ioctl(fd, request, intArg(v));
    }

    static String octal(int flags) {
        return "0" + Integer.toOctalString(flags);
    }
}
