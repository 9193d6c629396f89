package fdrestore.api.spi;

/**
 * A restore that could not complete: a plugin failed, a syscall failed, the plan is impossible (a cycle,
 * a missing kind) or every task waits for another. The message names the task, the fd and the file where
 * one is known; {@link #waitFor()} holds the wait-for graph of a stall.
 */
public class RestoreException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int pid;
    private final int fd;
    private final long fileId;
    private final String waitFor;

    public RestoreException(String message) {
        this(message, null, -1, -1, -1, null);
    }

    public RestoreException(String message, Throwable cause) {
        this(message, cause, -1, -1, -1, null);
    }

    public RestoreException(String message, Throwable cause, int pid, int fd, long fileId, String waitFor) {
        super(message, cause);
        this.pid = pid;
        this.fd = fd;
        this.fileId = fileId;
        this.waitFor = waitFor;
    }

    /** The image pid of the task concerned, or -1. */
    public int pid() {
        return pid;
    }

    /** The fd concerned, or -1. */
    public int fd() {
        return fd;
    }

    /** The file id (FdinfoEntry.id) concerned, or -1. */
    public long fileId() {
        return fileId;
    }

    /** For a stall: one line per waiting fd slot, "who waits for what"; null otherwise. */
    public String waitFor() {
        return waitFor;
    }
}
