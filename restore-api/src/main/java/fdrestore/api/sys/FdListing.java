package fdrestore.api.sys;

import java.util.Arrays;
import jnr.ffi.Pointer;

/** {@link Sys#listFds}: the calling thread's fd table read with getdents64 on /proc/thread-self/fd. */
final class FdListing {
    private static final LibC C = Native.libc();

    private FdListing() {
    }

    /** {@link Sys#listFds}. */
    static int[] listFds() throws SysException {
        int dir = Sys.openat(Linux.AT_FDCWD, "/proc/thread-self/fd", Linux.O_RDONLY | Linux.O_DIRECTORY
                | Linux.O_CLOEXEC, 0);
        try {
            Pointer buf = Native.allocate(8192);
            int[] out = new int[64];
            int n = 0;
            for (;;) {
                long got = C.syscall(Linux.SYS_GETDENTS64, dir, buf.address(), 8192);
                if (got < 0) {
                    throw new SysException("getdents64(" + dir + ")", Native.errno());
                }
                if (got == 0) {
                    break;
                }
                int off = 0;
                while (off < got) {
                    int reclen = buf.getShort(off + Linux.DIRENT64_OFF_D_RECLEN) & 0xffff;
                    int fd = parseFdName(buf, off + Linux.DIRENT64_OFF_D_NAME);
                    if (fd >= 0 && fd != dir) {
                        if (n == out.length) {
                            out = Arrays.copyOf(out, n * 2);
                        }
                        out[n++] = fd;
                    }
                    off += reclen;
                }
            }
            int[] r = Arrays.copyOf(out, n);
            Arrays.sort(r);
            return r;
        } finally {
            Sys.closeQuietly(dir);
        }
    }

    /** The decimal name at {@code off} as a number, or -1 ("." and ".."). */
    static int parseFdName(Pointer buf, long off) {
        int v = 0;
        int i = 0;
        for (;; i++) {
            byte b = buf.getByte(off + i);
            if (b == 0) {
                break;
            }
            if (b < '0' || b > '9') {
                return -1;
            }
            v = v * 10 + (b - '0');
        }
        return i == 0 ? -1 : v;
    }
}
