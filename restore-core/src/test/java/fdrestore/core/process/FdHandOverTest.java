package fdrestore.core.process;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.OnRealTables;
import org.junit.jupiter.api.Test;

/**
 * {@link FdHandOver} on real task tables: what it queues is every fd asked for, in ascending order, one
 * open file each; and when it cannot queue them it leaves nothing behind. (The holder's side, a built
 * child receiving them onto their numbers, runs in every end-to-end restore of a tree.)
 */
class FdHandOverTest extends OnRealTables {
    /** PIDFD_THREAD: a pidfd of one thread, whose own fd table pidfd_getfd reads. */
    private static final int PIDFD_THREAD = 0200;

    /** Copies fd {@code fd} of {@code t}'s table into {@code into}'s, as a built child takes its socket. */
    private static int take(ExecutorTaskTable t, int fd, TaskTable into) throws SysException {
        int pidfd = Sys.pidfdOpen(t.tid(), PIDFD_THREAD);
        try {
            int jvm = Sys.pidfdGetfd(pidfd, fd);
            try {
                return into.adopt(jvm);
            } finally {
                Sys.close(jvm);
            }
        } finally {
            Sys.close(pidfd);
        }
    }

    @Test
    void everyFdIsQueuedInAscendingOrder() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(1, FLOOR);
            ExecutorTaskTable child = runtime.start(2, FLOOR);
            int[] targets = {700, 3, 9, 0};
            for (int target : targets) {
                int[] p = t.pipe(0);
                t.place(p[0], target, false);
                t.close(p[1]);
            }
            int[] before = t.listFds();
            int sock = FdHandOver.queue(t, targets);
            assertTrue(sock >= FLOOR, "the end the child takes is a temporary: " + sock);
            int[] after = t.listFds();
            assertEquals(before.length + 1, after.length, "only that end is new in the table");

            int own = take(t, sock, child);
            int[] got = new int[Linux.SCM_MAX_FD];
            TaskTable.Received r = child.recvFds(own, new byte[1], got);
            assertEquals(targets.length, r.fdCount());
            assertFalse(r.truncated());
            int[] ascending = {0, 3, 9, 700};
            for (int i = 0; i < ascending.length; i++) {
                assertEquals(0, Sys.kcmp(t.tid(), child.tid(), Linux.KCMP_FILE, ascending[i], got[i]),
                        "received fd " + i + " is the open file at " + ascending[i]);
            }
            assertArrayEquals(after, t.listFds(), "queueing moved nothing in the task's table");
        });
    }

    @Test
    void moreThanOneMessageOfFdsArriveInOrder() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(3, FLOOR);
            ExecutorTaskTable child = runtime.start(4, FLOOR);
            int n = Linux.SCM_MAX_FD + 7;
            int[] targets = new int[n];
            int nul = t.open("/dev/null", Linux.O_RDONLY, 0);
            for (int i = 0; i < n; i++) {
                targets[i] = i;
                int d = t.dup(nul);
                t.place(d, i, false);
            }
            t.close(nul);
            int own = take(t, FdHandOver.queue(t, targets), child);
            int[] got = new int[Linux.SCM_MAX_FD];
            assertEquals(Linux.SCM_MAX_FD, child.recvFds(own, new byte[1], got).fdCount(), "a full first message");
            assertEquals(7, child.recvFds(own, new byte[1], got).fdCount(), "the rest in a second");
        });
    }

    /** The switch the end-to-end test of the one-by-one path sets (RestoreEndToEndTest) is the one read. */
    @Test
    void theSwitchTurnsTheQueueOff() {
        String was = System.getProperty("fdrestore.fd.handover");
        try {
            System.setProperty("fdrestore.fd.handover", "off");
            assertFalse(FdHandOver.enabled());
            System.setProperty("fdrestore.fd.handover", " OFF ");
            assertFalse(FdHandOver.enabled());
            System.setProperty("fdrestore.fd.handover", "on");
            assertTrue(FdHandOver.enabled());
        } finally {
            if (was == null) {
                System.clearProperty("fdrestore.fd.handover");
            } else {
                System.setProperty("fdrestore.fd.handover", was);
            }
        }
    }

    @Test
    void nothingIsLeftWhenTheFdsCannotBeQueued() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(5, FLOOR);
            int nul = t.open("/dev/null", Linux.O_RDONLY, 0);
            t.place(nul, 4, false);
            int[] before = t.listFds();
            assertEquals(-1, FdHandOver.queue(t, new int[] {4, 999}), "fd 999 is not open");
            assertArrayEquals(before, t.listFds(), "both ends of the socket pair are closed");
            assertEquals(-1, FdHandOver.queue(t, new int[0]), "no fds: no socket");
            assertArrayEquals(before, t.listFds());
        });
    }
}
