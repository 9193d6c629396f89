package fdrestore.core.spi;

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
}
