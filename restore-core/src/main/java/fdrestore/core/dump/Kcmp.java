package fdrestore.core.dump;

import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.Comparator;

/**
 * kcmp(2) as comparators. kcmp orders kernel objects as well as comparing them (0 equal, 1 less, 2
 * greater), so objects are grouped by sorting (or by a sorted map) with O(n log n) calls instead of
 * comparing every pair.
 */
final class Kcmp {
    private Kcmp() {
    }

    /** A failed kcmp inside a comparator. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failure(SysException cause) {
            super(cause.getMessage(), cause);
        }

        SysException sys() {
            return (SysException) getCause();
        }
    }

    /** Orders fds of the JVM's own table by the open file description they refer to (KCMP_FILE). */
    static Comparator<Integer> jvmFiles() {
        int self = Sys.getpid();
        return (a, b) -> order(call(self, self, Linux.KCMP_FILE, a, b), "KCMP_FILE");
    }

    /** Orders processes by one of their per-task objects (KCMP_FILES, KCMP_VM, KCMP_FS, KCMP_SIGHAND). */
    static Comparator<Integer> tasks(int type) {
        return (a, b) -> order(call(a, b, type, 0, 0), Sys.kcmpType(type));
    }

    private static int call(int pid1, int pid2, int type, long idx1, long idx2) {
        try {
            return Sys.kcmp(pid1, pid2, type, idx1, idx2);
        } catch (SysException e) {
            throw new Failure(e);
        }
    }

    /**
     * {@link fdrestore.api.spi.DumpContext#kcmpSame} in task {@code pid}: object {@code idx1} of {@code type}
     * against {@code idx2}, given as one word or as the u32 words of the structure the type takes (KCMP_EPOLL_TFD's
     * slot). False when one of them is gone (EBADF, ENOENT, EINVAL); other errors are thrown.
     */
    static boolean same(int pid, int type, int idx1, int... idx2) throws SysException {
        long arg;
        if (idx2.length == 1) {
            arg = Integer.toUnsignedLong(idx2[0]);
        } else {
            jnr.ffi.Pointer slot = Native.allocate(4L * idx2.length);
            for (int i = 0; i < idx2.length; i++) {
                slot.putInt(4L * i, idx2[i]);
            }
            arg = slot.address();
        }
        try {
            return Sys.kcmp(pid, pid, type, idx1, arg) == 0;
        } catch (SysException e) {
            if (e.errno() == Errno.EBADF || e.errno() == Errno.ENOENT || e.errno() == Errno.EINVAL) {
                return false;
            }
            throw e;
        }
    }

    /** A failed kcmp on process {@code pid} as the dump reports it: gone, not permitted, or the error. */
    static DumpException failure(int pid, SysException e) {
        if (e.errno() == Errno.ESRCH) {
            return ProcFs.gone(pid);
        }
        if (e.errno() == Errno.EPERM || e.errno() == Errno.EACCES) {
            return ProcFs.notPermitted(pid, e.call());
        }
        return new DumpException("process " + pid + ": " + e.getMessage(), e);
    }

    /** kcmp's 0/1/2 as a comparator result; 3 (not ordered) cannot be sorted. */
    static int order(int r, String type) {
        switch (r) {
            case 0:
                return 0;
            case 1:
                return -1;
            case 2:
                return 1;
            default:
                throw new IllegalStateException("kcmp " + type + " returned " + r + " (objects not ordered)");
        }
    }
}
