package fdrestore.api.spi;

/**
 * Something a task must do as it becomes a process, after every fd table is complete: the CTTY stage,
 * which runs after every tty of every task is restored. A {@link FileKind} contributes them per task;
 * fdrestore applies them in the new process, after setsid/setpgid and before the task's command runs.
 */
public sealed interface ProcessAction {
    /** Make the tty at {@code fd} the controlling terminal of this session leader (TIOCSCTTY). */
    record ControllingTerminal(int fd) implements ProcessAction {
    }

    /**
     * Make process group {@code imagePgid} (an image pgid, mapped to the real one) the foreground group of
     * the tty at {@code fd} (TIOCSPGRP). Applied by the session leader, after {@link ControllingTerminal}.
     */
    record ForegroundGroup(int fd, int imagePgid) implements ProcessAction {
    }

    /**
     * Take a file lock or lease on {@code fd} in the process itself, once it holds its fds and before it
     * reports ready: a POSIX lock belongs to the process's own fd table (the executor thread's table is
     * dropped after the restore, which would release it), and a flock or lease shows the pid of the
     * process that took it. {@code flag} and {@code type} are filelocks.img's (1 POSIX, 2 FLOCK, 4 OFD,
     * 8 LEASE; F_RDLCK 0, F_WRLCK 1); {@code len} 0 is up to the end of the file. Never waits: a lock that
     * conflicts fails the restore.
     */
    record FileLock(int fd, int flag, int type, long start, long len) implements ProcessAction {
    }

    /**
     * Make the task or process group {@code imagePid} (an image pid, mapped to the real one) the owner of
     * the file at {@code fd} (F_SETOWN; a group when {@code group}), once every process of the tree exists
     * and before any is released: the real pid of a task is known only then.
     */
    record Owner(int fd, int imagePid, boolean group) implements ProcessAction {
    }

    /**
     * Make the tty at {@code path} the controlling terminal of this session leader, which holds no fd on it:
     * opened for the time of TIOCSCTTY (and of a {@link ForegroundGroup} whose fd is -1), then closed.
     */
    record ControllingTerminalPath(String path) implements ProcessAction {
    }

    /**
     * Open {@code /dev/tty} with {@code flags} once the process has its controlling terminal, and put it at
     * each of {@code fds} (one open file description): an open of /dev/tty is bound to the terminal of the
     * process that opens it, so only the task's own process can make it.
     */
    record ReopenControllingTty(java.util.List<Integer> fds, int flags) implements ProcessAction {
        public ReopenControllingTty {
            fds = java.util.List.copyOf(fds);
        }
    }

    /**
     * Open a pidfd of task {@code imagePid} (an image pid, mapped to the real one; this task itself when it
     * is its own) with {@code flags} (0 or PIDFD_NONBLOCK) and put it at each of {@code fds} (one open file
     * description), over the placeholder the table held: the real pid is known only once that task's
     * process exists. The process does it itself, before it reports ready when the target exists by then
     * (itself, a task built before it), else at its release (a task that builds children); another order
     * fails the restore, naming both tasks.
     */
    record Pidfd(java.util.List<Integer> fds, int imagePid, int flags) implements ProcessAction {
        public Pidfd {
            fds = java.util.List.copyOf(fds);
        }
    }

    /**
     * Open {@code /proc/PID/rest} of task {@code imagePid} (an image pid, mapped to the real one) with
     * {@code flags}, seek to {@code pos} and put it at each of {@code fds}, over the placeholder the table
     * held: a procfs file of a task of the tree (criu keeps pids, so its path is the same; here the pid is
     * the restored one). Made by the process itself, when {@link Pidfd} would be.
     */
    record ProcFile(java.util.List<Integer> fds, int imagePid, String rest, int flags, long pos) implements ProcessAction {
        public ProcFile {
            fds = java.util.List.copyOf(fds);
        }
    }
}
