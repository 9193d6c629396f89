package fdrestore.core.process;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import java.util.Arrays;

/**
 * Queues a task's fds for the child that becomes the task: in the task's own table, a SOCK_SEQPACKET
 * socketpair; every fd goes into one end in ascending order (SCM_RIGHTS, {@link Linux#SCM_MAX_FD} a
 * message), that end is closed, and the other is what the child takes ("fork" FDS {@code @SOCK/LIST}).
 * The child then makes one call per message instead of two per fd (pidfd_getfd, then F_SETFD to clear the
 * FD_CLOEXEC it sets): received without MSG_CMSG_CLOEXEC, in a table empty below its own fds, each fd
 * lands on its number with the flag clear. A restore of 1,000 tasks of 100 fds made 200,000 calls fewer.
 *
 * <p>Nothing is lost when it cannot be done (the kernel refuses this many fds in flight, say, for a user
 * without CAP_SYS_ADMIN): {@link #queue} answers -1, with both ends closed and so every fd it queued, and
 * the child takes the fds one by one as before. If the restore fails first, the table is dropped with
 * the socket in it, and the fds queued in it with the socket. {@code FDRESTORE_FD_HANDOVER=off} (or the
 * system property {@code fdrestore.fd.handover=off}) always takes them one by one.
 */
final class FdHandOver {
    private FdHandOver() {
    }

    /** Whether this restore queues the fds (the switch above), read once per restore. */
    static boolean enabled() {
        String v = System.getProperty("fdrestore.fd.handover", System.getenv("FDRESTORE_FD_HANDOVER"));
        return v == null || !v.trim().equalsIgnoreCase("off");
    }

    /**
     * Queues {@code fds} (distinct numbers of {@code table}) in ascending order, in one hand-off to its
     * executor ({@link ExecutorTaskTable#queueFds}); returns the fd of the end the child takes, or -1 when
     * they could not all be queued (nothing is left behind then).
     */
    static int queue(ExecutorTaskTable table, int[] fds) {
        if (fds.length == 0) {
            return -1;
        }
        int[] sorted = fds.clone();
        Arrays.sort(sorted);
        try {
            return table.queueFds(sorted);
        } catch (SysException e) {
            return -1;
        }
    }
}
