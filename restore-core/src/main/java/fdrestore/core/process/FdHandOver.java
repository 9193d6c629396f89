package fdrestore.core.process;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
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
    private static final byte[] ONE_BYTE = {0};

    private FdHandOver() {
    }

    /** Whether this restore queues the fds (the switch above), read once per restore. */
    static boolean enabled() {
        String v = System.getProperty("fdrestore.fd.handover", System.getenv("FDRESTORE_FD_HANDOVER"));
        return v == null || !v.trim().equalsIgnoreCase("off");
    }

    /**
     * Queues {@code fds} (distinct numbers of {@code table}) in ascending order; returns the fd of the end
     * the child takes, or -1 when they could not all be queued (nothing is left behind then).
     */
    static int queue(TaskTable table, int[] fds) {
        if (fds.length == 0) {
            return -1;
        }
        int[] sorted = fds.clone();
        Arrays.sort(sorted);
        int[] ends;
        try {
            ends = table.socketpair(Linux.AF_UNIX, Linux.SOCK_SEQPACKET | Linux.SOCK_CLOEXEC, 0);
        } catch (SysException e) {
            return -1;
        }
        boolean queued = false;
        try {
            int[] chunk = new int[Math.min(Linux.SCM_MAX_FD, sorted.length)];
            for (int off = 0; off < sorted.length; off += chunk.length) {
                int k = Math.min(chunk.length, sorted.length - off);
                System.arraycopy(sorted, off, chunk, 0, k);
                if (table.sendFds(ends[0], null, ONE_BYTE, 1, chunk, k) == TaskTable.AGAIN) {
                    return -1; // the queue is full: the finally closes both ends, and what is queued
                }
            }
            queued = true;
            return ends[1];
        } catch (SysException e) {
            return -1;
        } finally {
            closeQuietly(table, ends[0]);
            if (!queued) {
                closeQuietly(table, ends[1]);
            }
        }
    }

    private static void closeQuietly(TaskTable table, int fd) {
        try {
            table.close(fd);
        } catch (SysException | RuntimeException ignored) {
            // the table is dropped with whatever is left in it
        }
    }
}
