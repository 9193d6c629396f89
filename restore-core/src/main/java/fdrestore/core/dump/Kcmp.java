package fdrestore.core.dump;

import fdrestore.api.sys.Linux;
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
