package fdrestore.api.spi;

import fdrestore.api.sys.SysException;

/**
 * The private kernel fd table of one task being restored. Every call runs its syscalls on the task's
 * executor thread, in that table; the caller's thread waits for the answer (a "hand-off", ~10-20 us, so
 * prefer {@link #batch()} for several calls in a row).
 *
 * <p><b>Temporary fds.</b> Every fd that a call here creates (open, pipe, socket, dup, a received fd ...)
 * is placed at or above {@link #tempFloor()}, which lies above every target fd of the task, so it can
 * never sit on a number a target still needs; and it carries FD_CLOEXEC until it is placed. Only the
 * engine moves fds to their target numbers ({@link #place}).
 *
 * <p><b>Errors.</b> A failing call throws {@link SysException} naming the call, its arguments and the
 * errno.
 *
 * <p><b>Again.</b> Where "would block" is a normal answer it is never an exception, and it has one form:
 * the call's result is {@link #AGAIN}. So {@link #read}, {@link #write}, {@link #send}, {@link #sendFds}
 * and {@link #accept} return AGAIN instead of a count or an fd, {@link #connect} returns AGAIN while the
 * connection is in progress, and {@link #recvFds} returns {@link Received#AGAIN}, whose payload length
 * is AGAIN. A batch's write row reads AGAIN the same way.
 */
public interface TaskTable {
    /** The answer of a call that would block (EAGAIN, or EINPROGRESS for {@link #connect}). */
    int AGAIN = -1;

    /** The task's pid in the images. */
    int pid();

    /** The lowest number a temporary fd may take in this table. */
    int tempFloor();

    /** open(2): returns a temporary fd. O_CREAT and O_TRUNC are refused ({@code IllegalArgumentException}). */
    int open(String path, int flags, int mode) throws SysException;

    /** openat(2) relative to {@code dirFd} (an fd of this table, or AT_FDCWD). Same rules as {@link #open}. */
    int openAt(int dirFd, String path, int flags, int mode) throws SysException;

    /** openat2(2) with {@code resolve} flags (RESOLVE_IN_ROOT ...). Same rules as {@link #open}. */
    int openAt2(int dirFd, String path, int flags, int mode, long resolve) throws SysException;

    /** pipe2(2): returns {read end, write end}, both temporary. */
    int[] pipe(int flags) throws SysException;

    /** socket(2): returns a temporary fd. */
    int socket(int domain, int type, int protocol) throws SysException;

    /** socketpair(2): returns two temporary fds. */
    int[] socketpair(int domain, int type, int protocol) throws SysException;

    /** A temporary copy of {@code fd} (F_DUPFD_CLOEXEC at or above the floor). */
    int dup(int fd) throws SysException;

    /** close(2). Closing an fd that is not open is an error (EBADF): ownership must be exact. */
    void close(int fd) throws SysException;

    /**
     * A restorer's rollback: closes every fd of {@code fds} (the ones a failed open still owns), last first,
     * and empties the list. A close that fails is added to {@code failure}, the error being reported, as
     * suppressed.
     */
    default void closeAll(java.util.List<Integer> fds, Throwable failure) {
        for (int i = fds.size() - 1; i >= 0; i--) {
            try {
                close(fds.get(i));
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        fds.clear();
    }

    /**
     * Moves {@code fd} to {@code target} (a copy there, then close of {@code fd}), with FD_CLOEXEC when
     * {@code cloexec}. Engine use: plugins never place fds themselves. A target that is occupied by
     * anything but an fd the JVM copied in is an error.
     */
    void place(int fd, int target, boolean cloexec) throws SysException;

    /** {@link #placeAll} flag: the target gets FD_CLOEXEC. */
    int PLACE_CLOEXEC = 1;
    /** {@link #placeAll} flag: keep the source open (a dup to the target, not a move). */
    int KEEP_SOURCE = 2;

    /**
     * Several placements in one hand-off, in order: for each i, {@code src[i]} goes to {@code dst[i]}
     * (dup3) with the {@link #PLACE_CLOEXEC} and {@link #KEEP_SOURCE} bits of {@code flags[i]}. Engine use.
     * A failure names the placement; the ones before it are done.
     */
    void placeAll(int[] src, int[] dst, int[] flags, int count) throws SysException;

    /** lseek(2); returns the new offset. */
    long lseek(int fd, long offset, int whence) throws SysException;

    /** fcntl(2) with an integer argument; returns the call's result. */
    long fcntl(int fd, int cmd, long arg) throws SysException;

    /** ioctl(2) with an integer argument; returns the call's result. */
    int ioctl(int fd, long request, long arg) throws SysException;

    /** ioctl(2) with a pointer to {@code buf}, which is copied in before and back out after the call. */
    int ioctl(int fd, long request, byte[] buf) throws SysException;

    /** write(2) of {@code data[off, off+len)}; returns the count written, or {@link #AGAIN}. */
    int write(int fd, byte[] data, int off, int len) throws SysException;

    /** fstat(2). */
    Stat fstat(int fd) throws SysException;

    /** bind(2) to a raw {@code struct sockaddr}. */
    void bind(int fd, byte[] sockaddr) throws SysException;

    /** listen(2). */
    void listen(int fd, int backlog) throws SysException;

    /** connect(2) to a raw {@code struct sockaddr}: 0 when connected, {@link #AGAIN} while in progress. */
    int connect(int fd, byte[] sockaddr) throws SysException;

    /** setsockopt(2) with a raw option value. */
    void setsockopt(int fd, int level, int name, byte[] value) throws SysException;

    /**
     * sendmsg(2) with MSG_DONTWAIT of {@code payload} and SCM_RIGHTS {@code fds} (at most 253) to the
     * raw address {@code dest} (null for a connected socket). Returns the payload bytes sent, or
     * {@link #AGAIN} when the receiver's queue is full; the fds then stay the sender's.
     */
    int sendFds(int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds, int fdCount)
            throws SysException;

    /**
     * recvmsg(2) with MSG_DONTWAIT | MSG_CMSG_CLOEXEC. Fills {@code payload} and {@code fdsOut} (the
     * received fds are moved to temporary numbers) and returns a {@link Received}, {@link Received#AGAIN}
     * when the queue is empty.
     * Every received fd is the caller's to place or close, even when the message is refused.
     */
    Received recvFds(int sock, byte[] payload, int[] fdsOut) throws SysException;

    /** read(2) into {@code buf[off, off+len)}; returns the count read (0 at end of file), or {@link #AGAIN}. */
    int read(int fd, byte[] buf, int off, int len) throws SysException;

    /** getsockopt(2) into {@code out}; returns the option's length. */
    int getsockopt(int fd, int level, int name, byte[] out) throws SysException;

    /** getsockname(2): the raw {@code struct sockaddr}. */
    byte[] getsockname(int fd) throws SysException;

    /** getpeername(2): the raw {@code struct sockaddr}. */
    byte[] getpeername(int fd) throws SysException;

    /** accept4(2) (SOCK_CLOEXEC is added): a temporary fd, or {@link #AGAIN} when no connection is queued. */
    int accept(int fd, int flags) throws SysException;

    /** shutdown(2) with SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2). */
    void shutdown(int fd, int how) throws SysException;

    /**
     * sendmsg(2) with MSG_DONTWAIT|MSG_NOSIGNAL of {@code data[off, off+len)} on a connected socket, with
     * SCM_RIGHTS {@code fds[0..fdCount)} when fdCount &gt; 0; returns the bytes sent, or {@link #AGAIN}.
     */
    int send(int fd, byte[] data, int off, int len, int[] fds, int fdCount) throws SysException;

    /** epoll_create1(2) (EPOLL_CLOEXEC is added): returns a temporary fd. */
    int epollCreate(int flags) throws SysException;

    /** epoll_ctl(2) with a {@code struct epoll_event {events, data}}. */
    void epollCtl(int epfd, int op, int fd, int events, long data) throws SysException;

    /** timerfd_create(2) (TFD_CLOEXEC is added): returns a temporary fd. */
    int timerfdCreate(int clockid, int flags) throws SysException;

    /** timerfd_settime(2). */
    void timerfdSettime(int fd, int flags, long valueSec, long valueNsec, long intervalSec, long intervalNsec)
            throws SysException;

    /** timerfd_gettime(2): {value sec, value nsec, interval sec, interval nsec}. */
    long[] timerfdGettime(int fd) throws SysException;

    /** eventfd2(2) (EFD_CLOEXEC is added): returns a temporary fd. */
    int eventfd(int initval, int flags) throws SysException;

    /** Copies fd {@code jvmFd} of this JVM's own table into this task's table, above its temp floor, and returns the copy (a temporary the caller owns); the JVM's fd stays the caller's. */
    int adopt(int jvmFd) throws SysException;

    /**
     * A checked general call at an fd of this table: syscall {@code name} from {@link Syscalls}' table of
     * this architecture, with {@code args} as {@link Syscalls} describes them (integers, {@code byte[]}
     * copied in and back out, paths, null). Returns the result. Refused before any syscall
     * ({@code IllegalArgumentException}): an unknown name or architecture, and calls that make or drop
     * fds (make those in the JVM's table and {@link #adopt} them).
     */
    long syscall(String name, Object... args) throws SysException;

    /** Starts a batch: several calls in one hand-off. */
    Batch batch();

    /** stat fields fdrestore checks. */
    record Stat(int mode, long size, long dev, long ino, long rdev) {
        /** S_IFMT bits. */
        public int type() {
            return mode & 0170000;
        }
    }

    /**
     * One received datagram: the payload length, the number of fds planted into {@code fdsOut}, the
     * sender's credentials (SO_PASSCRED) and whether the kernel truncated anything (MSG_TRUNC/MSG_CTRUNC).
     */
    record Received(int payloadLen, int fdCount, int senderPid, int senderUid, boolean truncated) {
        /** The answer of {@link TaskTable#recvFds} on an empty queue. */
        public static final Received AGAIN = new Received(TaskTable.AGAIN, 0, -1, -1, false);

        /** Whether this is {@link #AGAIN}: nothing was received. */
        public boolean again() {
            return payloadLen == TaskTable.AGAIN;
        }
    }
}
