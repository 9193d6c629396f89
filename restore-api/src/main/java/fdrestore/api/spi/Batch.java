package fdrestore.api.spi;

import fdrestore.api.sys.SysException;

/**
 * Several calls on one {@link TaskTable}, carried to its executor in a single hand-off and run in order.
 * A call may use the fd produced by an earlier call of the same batch through its {@link Ref}.
 * {@link #run()} stops at the first failure and throws it; fds created by the calls before it are
 * closed, so a failed batch leaves nothing behind. A batch runs once.
 */
public interface Batch {
    /** The result of one call of the batch, readable after {@link #run()}. */
    interface Ref {
        /** The call's result (an fd for calls that create one). */
        long get();
    }

    Ref open(String path, int flags, int mode);

    Ref openAt2(int dirFd, String path, int flags, int mode, long resolve);

    /**
     * openat2 relative to a directory fd an earlier call of this batch opened. Tables that do not support
     * it (older implementations) refuse with UnsupportedOperationException.
     */
    default Ref openAt2(Ref dirFd, String path, int flags, int mode, long resolve) {
        throw new UnsupportedOperationException("openat2 on a Ref in a batch is not supported by " + getClass().getName());
    }

    /** The result of an fstat call of the batch, readable after {@link #run()}. */
    interface StatRef extends Ref {
        TaskTable.Stat stat();
    }

    /** fstat(2); the stat is read with {@link StatRef#stat()} after the run. */
    default StatRef fstat(Ref fd) {
        throw new UnsupportedOperationException("fstat in a batch is not supported by " + getClass().getName());
    }

    /**
     * pipe2(2): the read end and the write end, in that order (both temporaries with FD_CLOEXEC, as
     * {@link TaskTable#pipe} makes them).
     */
    default Ref[] pipe(int flags) {
        throw new UnsupportedOperationException("pipe in a batch is not supported by " + getClass().getName());
    }

    /**
     * One write(2) of {@code data} (copied when called): the result is the count written, which may be
     * short, or {@link TaskTable#AGAIN} when a non-blocking fd would block. The caller checks it after {@link #run()}.
     */
    default Ref write(Ref fd, byte[] data) {
        throw new UnsupportedOperationException("write in a batch is not supported by " + getClass().getName());
    }

    /** A new fd for the same open file description, as {@link TaskTable#dup} makes it (a temporary). */
    default Ref dup(Ref fd) {
        throw new UnsupportedOperationException("dup in a batch is not supported by " + getClass().getName());
    }

    /** socket(2): a temporary fd, as {@link TaskTable#socket} makes it. */
    default Ref socket(int domain, int type, int protocol) {
        throw new UnsupportedOperationException("socket in a batch is not supported by " + getClass().getName());
    }

    /** setsockopt(2) with a raw option value (copied when called). */
    default Ref setsockopt(Ref fd, int level, int name, byte[] value) {
        throw new UnsupportedOperationException("setsockopt in a batch is not supported by " + getClass().getName());
    }

    /** bind(2) to a raw {@code struct sockaddr} (copied when called). */
    default Ref bind(Ref fd, byte[] sockaddr) {
        throw new UnsupportedOperationException("bind in a batch is not supported by " + getClass().getName());
    }

    Ref lseek(Ref fd, long offset, int whence);

    Ref fcntl(Ref fd, int cmd, long arg);

    Ref ioctl(Ref fd, long request, long arg);

    Ref close(Ref fd);

    /** Wraps a known fd number so that it can be used as an argument. */
    Ref fd(int fd);

    /** Runs the batch in one hand-off. */
    void run() throws SysException;

    /** How many calls were added so far (a pipe counts two, {@link #fd} may count one). */
    default int size() {
        throw new UnsupportedOperationException("size of a batch is not supported by " + getClass().getName());
    }

    /** After a {@link #run()} that failed: the position of the failed call, counted as {@link #size()} does; else -1. */
    default int failedCall() {
        return -1;
    }
}
