package fdrestore.core.runtime;

import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.SysException;

/**
 * Turns a failed request's answer (errno, the step that failed and its two values) into the
 * {@link SysException} the caller throws: the call, the step when it was not the call itself, the task
 * and the errno. Runs on the caller's thread, only after a failure.
 */
final class Failures {
    private Failures() {
    }

    /**
     * What failed in {@code call} in task {@code pid}, read from {@code core}'s result fields; {@code floor}
     * is the table's temp floor.
     */
    static SysException of(ExecutorCore core, int pid, int floor, String call) {
        int e = core.err;
        long x0 = core.aux0;
        long x1 = core.aux1;
        String where = " in task " + pid;
        switch (core.phase) {
            case ExecutorCore.PH_MOVE:
                return new SysException("fcntl(" + x0 + ", F_DUPFD_CLOEXEC, " + floor + ") moving the new fd of "
                        + call + where, e);
            case ExecutorCore.PH_RLIMIT:
                return new SysException(call + where + ": the target is beyond RLIMIT_NOFILE "
                        + new Rlimit(x0, x1) + " and the hard limit cannot be raised", e);
            case ExecutorCore.PH_RLIMIT_SET:
                return new SysException("setrlimit(RLIMIT_NOFILE) raising " + new Rlimit(x0, x1) + " for "
                        + call + where, e);
            case ExecutorCore.PH_GETRLIMIT:
                return new SysException("getrlimit(RLIMIT_NOFILE) for " + call + where, e);
            case ExecutorCore.PH_OCCUPIED:
                return new SysException(call + where + ": target fd " + x0
                        + " is already open and is not one the JVM copied in", e);
            case ExecutorCore.PH_CLOEXEC:
                return new SysException("close_range(" + x0 + ", " + x1 + ", CLOSE_RANGE_CLOEXEC) for " + call
                        + where, e);
            case ExecutorCore.PH_KEEP:
                return new SysException("fcntl(" + x0 + ", F_SETFD, 0) clearing FD_CLOEXEC on keep fd " + x0
                        + " for " + call + where, e);
            case ExecutorCore.PH_SPAWN_SETUP:
                return new SysException(spawnStep(x0) + " for " + call + where, e);
            case ExecutorCore.PH_LIST_OPEN:
                return new SysException("open(\"/proc/thread-self/fd\", O_RDONLY|O_DIRECTORY|O_CLOEXEC) for "
                        + call + where, e);
            case ExecutorCore.PH_LIST_READ:
                return new SysException("getdents64(/proc/thread-self/fd) for " + call + where, e);
            case ExecutorCore.PH_LIST_FULL:
                return new SysException(call + where + ": more than " + x0 + " fds", e);
            case ExecutorCore.PH_ADOPT_PIDFD:
                return new SysException("pidfd_open(" + x0 + ", PIDFD_THREAD) of the calling thread for " + call
                        + where, e);
            case ExecutorCore.PH_INTERNAL:
                return new SysException(call + where + ": internal error on the executor", e);
            default:
                return new SysException(call + where, e);
        }
    }

    /** The posix_spawn setup step {@code step} (ExecutorCore.spawn's numbering). */
    private static String spawnStep(long step) {
        if (step == 0) {
            return "posix_spawn_file_actions_init";
        }
        if (step == 1) {
            return "posix_spawnattr_init";
        }
        if (step == 2) {
            return "posix_spawnattr_setflags";
        }
        if (step == 3) {
            return "posix_spawnattr_setsigmask";
        }
        if (step == 4) {
            return "posix_spawnattr_setsigdefault";
        }
        if (step == 5) {
            return "posix_spawnattr_setpgroup";
        }
        return "posix_spawn_file_actions_add* (file action #" + (step - 10) + ")";
    }
}
