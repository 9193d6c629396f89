package fdrestore.core.runtime;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.LibC;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.MsgHdr;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import jnr.ffi.Pointer;

/**
 * A {@link TaskTable} owned by one executor thread that called unshare(CLONE_FILES). This class only
 * encodes: each call writes its arguments into the request fields of the {@link ExecutorCore} and its
 * {@link Arena}, and {@link #call} hands it to the executor ({@link HandOff}), where the core runs it;
 * failures come back as values and are thrown here as {@link SysException}, their text built only then
 * ({@link Failures}). Batches are {@link ExecBatch}, spawns {@link SpawnEncoding}.
 *
 * <p>Calls from several threads are serialised. Every fd a call creates is opened with O_CLOEXEC and moved
 * to {@code >= tempFloor} in the same hand-off. {@link #close()} (or {@link #abort()}) ends the executor:
 * it closes every fd of the private table (close_range 0..~0) and exits, which also drops any fd in
 * flight in the table's sockets.
 *
 * <p>Create with {@link TaskRuntime#start(int, int)}.
 */
public final class ExecutorTaskTable implements TaskTable, AutoCloseable {
    private final int pid;
    private final int floor;
    final ExecutorCore core;
    final Arena arena = new Arena(16384);
    /** Serialises requests: held around the encoding into the arena and the hand-off. */
    final Object lock = new Object();
    private final HandOff hand;

    ExecutorTaskTable(int imagePid, int tempFloor, boolean inline) {
        if (tempFloor < 3) {
            throw new IllegalArgumentException("tempFloor must be >= 3: " + tempFloor);
        }
        this.pid = imagePid;
        this.floor = tempFloor;
        this.core = new ExecutorCore(tempFloor);
        this.hand = new HandOff(imagePid, core, inline);
    }

    /** Starts the executor and waits until it owns its private table. */
    void start() throws SysException {
        begin();
        awaitStarted();
    }

    /** Starts the executor thread without waiting for it (see {@link #awaitStarted()}). */
    void begin() {
        hand.begin();
    }

    /** Waits until the executor started by {@link #begin()} owns its private table, or failed to. */
    void awaitStarted() throws SysException {
        hand.awaitStarted();
    }

    // ------------------------------------------------------------------ the one request path

    /**
     * The text of a failed call, from the request's arguments ({@code c.a0..a4}), the arena and the
     * caller's {@code ref} (a path, an address ...). Called only on failure, so the success path builds no
     * string; a lambda that captures nothing is allocated once.
     */
    @FunctionalInterface
    interface CallText {
        String of(ExecutorCore c, Arena a, Object ref);
    }

    /**
     * Runs op {@code op} with arguments {@code x0..x4} on the executor and returns its result; on failure
     * throws the {@link SysException} naming the call {@code text} describes. A caller that encoded into
     * the arena holds {@link #lock} across both.
     */
    long call(int op, long x0, long x1, long x2, long x3, long x4, Object ref, CallText text) throws SysException {
        synchronized (lock) {
            if (!tryCall(op, x0, x1, x2, x3, x4)) {
                throw failure(text.of(core, arena, ref));
            }
            return core.r0;
        }
    }

    /** Runs a request; false when it failed (the core's err, phase and aux say how). */
    boolean tryCall(int op, long x0, long x1, long x2, long x3, long x4) {
        synchronized (lock) {
            ExecutorCore c = core;
            c.op = op;
            c.a0 = x0;
            c.a1 = x1;
            c.a2 = x2;
            c.a3 = x3;
            c.a4 = x4;
            c.setArena(arena.memory());
            hand.run();
            return c.err == 0;
        }
    }

    /** The exception for the request that just failed, as {@code call} in this task. */
    SysException failure(String call) {
        return Failures.of(core, pid, floor, call);
    }

    // ------------------------------------------------------------------ TaskTable

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public int tempFloor() {
        return floor;
    }

    /** The kernel thread id of the executor (for kcmp KCMP_FILES/KCMP_FILE and /proc/PID/task/TID). */
    public int tid() {
        return hand.tid();
    }

    /** Whether this table's executor has ended. */
    public boolean isClosed() {
        return hand.closed();
    }

    @Override
    public int open(String path, int flags, int mode) throws SysException {
        return openAt(Linux.AT_FDCWD, path, flags, mode, (c, a, p) -> "open(" + Native.quote((String) p) + ", "
                + Linux.openFlags((int) c.a2) + Sys.modeArg((int) c.a2, (int) c.a3) + ")");
    }

    @Override
    public int openAt(int dirFd, String path, int flags, int mode) throws SysException {
        return openAt(dirFd, path, flags, mode, (c, a, p) -> "openat(" + Sys.dirfd((int) c.a0) + ", "
                + Native.quote((String) p) + ", " + Linux.openFlags((int) c.a2) + Sys.modeArg((int) c.a2, (int) c.a3) + ")");
    }

    private int openAt(int dirFd, String path, int flags, int mode, CallText text) throws SysException {
        Linux.refuseCreate(dirFd == Linux.AT_FDCWD ? "open" : "openat", path, flags);
        byte[] p = Native.cString(path);
        synchronized (lock) {
            arena.reset(Arena.space(p.length));
            return (int) call(ExecutorCore.OP_OPENAT, dirFd, arena.put(p, 0, p.length), flags, mode, 0, path, text);
        }
    }

    @Override
    public int openAt2(int dirFd, String path, int flags, int mode, long resolve) throws SysException {
        Linux.refuseCreate("openat2", path, flags);
        byte[] p = Native.cString(path);
        synchronized (lock) {
            arena.reset(Arena.space(p.length) + Arena.space(Linux.OPEN_HOW_SIZE));
            long pa = arena.put(p, 0, p.length);
            long how = arena.putHow(flags, mode, resolve);
            // x3 carries the flags as given (the how has O_CLOEXEC added), for the text only
            return (int) call(ExecutorCore.OP_OPENAT2, dirFd, pa, how, flags, 0, path, (c, a, r) -> "openat2("
                    + Sys.dirfd((int) c.a0) + ", " + Native.quote((String) r) + ", {" + Linux.openFlags((int) c.a3)
                    + ", mode 0" + Long.toOctalString(a.getLong(c.a2 + 8)) + ", resolve 0x"
                    + Long.toHexString(a.getLong(c.a2 + 16)) + "})");
        }
    }

    @Override
    public int[] pipe(int flags) throws SysException {
        synchronized (lock) {
            call(ExecutorCore.OP_PIPE, flags, 0, 0, 0, 0, null,
                    (c, a, r) -> "pipe2(" + Linux.openFlags((int) c.a0) + ")");
            return new int[] {(int) core.r0, (int) core.r1};
        }
    }

    @Override
    public int dup(int fd) throws SysException {
        return (int) call(ExecutorCore.OP_DUP, fd, 0, 0, 0, 0, null,
                (c, a, r) -> "fcntl(" + c.a0 + ", F_DUPFD_CLOEXEC, " + c.floor + ")");
    }

    @Override
    public void close(int fd) throws SysException {
        call(ExecutorCore.OP_CLOSE, fd, 0, 0, 0, 0, null, (c, a, r) -> "close(" + c.a0 + ")");
    }

    @Override
    public void place(int fd, int target, boolean cloexec) throws SysException {
        call(ExecutorCore.OP_PLACE, fd, target, cloexec ? 1 : 0, 0, 0, null, (c, a, r) -> "place(" + c.a0 + " -> "
                + c.a1 + (c.a2 != 0 ? ", O_CLOEXEC" : "") + ") [dup3+close]");
    }

    @Override
    public void placeAll(int[] src, int[] dst, int[] flags, int count) throws SysException {
        if (count <= 0) {
            return;
        }
        synchronized (lock) {
            arena.reset(Arena.space(12 * count));
            long at = arena.alloc(12 * count);
            for (int i = 0; i < count; i++) {
                arena.putInt(at + 12L * i, src[i]);
                arena.putInt(at + 12L * i + 4, dst[i]);
                arena.putInt(at + 12L * i + 8, flags[i]);
            }
            call(ExecutorCore.OP_PLACE_ALL, at, count, 0, 0, 0, null, (c, a, r) -> {
                long t = c.a0 + 12L * c.r1;   // the failed triple
                int s = a.getInt(t);
                int d = a.getInt(t + 4);
                int f = a.getInt(t + 8);
                return (f & KEEP_SOURCE) != 0
                        ? "dup3(" + s + ", " + d + ((f & PLACE_CLOEXEC) != 0 ? ", O_CLOEXEC)" : ", 0)")
                        : "place(" + s + " -> " + d + ((f & PLACE_CLOEXEC) != 0 ? ", O_CLOEXEC" : "") + ") [dup3+close]";
            });
        }
    }

    @Override
    public long lseek(int fd, long offset, int whence) throws SysException {
        return call(ExecutorCore.OP_LSEEK, fd, offset, whence, 0, 0, null,
                (c, a, r) -> "lseek(" + c.a0 + ", " + c.a1 + ", " + Sys.whence((int) c.a2) + ")");
    }

    @Override
    public long fcntl(int fd, int cmd, long arg) throws SysException {
        return call(ExecutorCore.OP_FCNTL, fd, cmd, arg, 0, 0, null,
                (c, a, r) -> "fcntl(" + c.a0 + ", " + Linux.fcntlCmd((int) c.a1) + ", " + c.a2 + ")");
    }

    @Override
    public int ioctl(int fd, long request, long arg) throws SysException {
        return (int) call(ExecutorCore.OP_IOCTL, fd, request, arg, 0, 0, null,
                (c, a, r) -> "ioctl(" + c.a0 + ", " + Linux.ioctlRequest(c.a1) + ", " + c.a2 + ")");
    }

    @Override
    public int ioctl(int fd, long request, byte[] buf) throws SysException {
        synchronized (lock) {
            arena.reset(Arena.space(buf.length));
            long at = arena.put(buf, 0, buf.length);
            int n = (int) call(ExecutorCore.OP_IOCTL_PTR, fd, request, at, 0, 0, buf, (c, a, r) -> "ioctl(" + c.a0
                    + ", " + Linux.ioctlRequest(c.a1) + ", <" + ((byte[]) r).length + " bytes>)");
            arena.get(at, buf, 0, buf.length);
            return n;
        }
    }

    @Override
    public int write(int fd, byte[] data, int off, int len) throws SysException {
        Objects.checkFromIndexSize(off, len, data.length);
        synchronized (lock) {
            arena.reset(Arena.space(len));
            return (int) call(ExecutorCore.OP_WRITE, fd, arena.put(data, off, len), len, 0, 0, null,
                    (c, a, r) -> "write(" + c.a0 + ", <buf>, " + c.a2 + ")");
        }
    }

    /** read(2) in this table; returns the count read, 0 at end of file, or {@link #AGAIN}. */
    @Override
    public int read(int fd, byte[] buf, int off, int len) throws SysException {
        Objects.checkFromIndexSize(off, len, buf.length);
        synchronized (lock) {
            arena.reset(Arena.space(len));
            long at = arena.alloc(len);
            int n = (int) call(ExecutorCore.OP_READ, fd, at, len, 0, 0, null,
                    (c, a, r) -> "read(" + c.a0 + ", <buf>, " + c.a2 + ")");
            if (n > 0) {
                arena.get(at, buf, off, n);
            }
            return n;
        }
    }

    @Override
    public int epollCreate(int flags) throws SysException {
        return GeneralCalls.epollCreate(this, flags);
    }

    @Override
    public void epollCtl(int epfd, int op, int fd, int events, long data) throws SysException {
        GeneralCalls.epollCtl(this, epfd, op, fd, events, data);
    }

    @Override
    public int timerfdCreate(int clockid, int flags) throws SysException {
        return GeneralCalls.timerfdCreate(this, clockid, flags);
    }

    @Override
    public void timerfdSettime(int fd, int flags, long valueSec, long valueNsec, long intervalSec, long intervalNsec)
            throws SysException {
        GeneralCalls.timerfdSettime(this, fd, flags, valueSec, valueNsec, intervalSec, intervalNsec);
    }

    @Override
    public long[] timerfdGettime(int fd) throws SysException {
        return GeneralCalls.timerfdGettime(this, fd);
    }

    @Override
    public int eventfd(int initval, int flags) throws SysException {
        return GeneralCalls.eventfd(this, initval, flags);
    }

    @Override
    public int adopt(int jvmFd) throws SysException {
        return GeneralCalls.adopt(this, jvmFd);
    }

    @Override
    public long syscall(String name, Object... args) throws SysException {
        return GeneralCalls.syscall(this, name, args);
    }

    @Override
    public int socket(int domain, int type, int protocol) throws SysException {
        return Sockets.socket(this, domain, type, protocol);
    }

    @Override
    public int[] socketpair(int domain, int type, int protocol) throws SysException {
        return Sockets.socketpair(this, domain, type, protocol);
    }

    @Override
    public int accept(int fd, int flags) throws SysException {
        return Sockets.accept(this, fd, flags);
    }

    @Override
    public void shutdown(int fd, int how) throws SysException {
        Sockets.shutdown(this, fd, how);
    }

    @Override
    public byte[] getsockname(int fd) throws SysException {
        return Sockets.getsockname(this, fd);
    }

    @Override
    public byte[] getpeername(int fd) throws SysException {
        return Sockets.getpeername(this, fd);
    }

    @Override
    public void bind(int fd, byte[] sockaddr) throws SysException {
        Sockets.bind(this, fd, sockaddr);
    }

    @Override
    public void listen(int fd, int backlog) throws SysException {
        Sockets.listen(this, fd, backlog);
    }

    @Override
    public int connect(int fd, byte[] sockaddr) throws SysException {
        return Sockets.connect(this, fd, sockaddr);
    }

    @Override
    public void setsockopt(int fd, int level, int name, byte[] value) throws SysException {
        Sockets.setsockopt(this, fd, level, name, value);
    }

    @Override
    public int getsockopt(int fd, int level, int name, byte[] out) throws SysException {
        return Sockets.getsockopt(this, fd, level, name, out);
    }

    @Override
    public int send(int fd, byte[] data, int off, int len, int[] fds, int fdCount) throws SysException {
        return Messages.send(this, fd, data, off, len, fds, fdCount);
    }

    @Override
    public int sendFds(int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds, int fdCount)
            throws SysException {
        return Messages.sendFds(this, sock, dest, payload, payloadLen, fds, fdCount);
    }

    @Override
    public Received recvFds(int sock, byte[] payload, int[] fdsOut) throws SysException {
        return Messages.recvFds(this, sock, payload, fdsOut);
    }

    @Override
    public Stat fstat(int fd) throws SysException {
        FileStat s = fstatFull(fd);
        return new Stat(s.mode(), s.size(), s.dev(), s.ino(), s.rdev());
    }

    /** fstat(2) with every field fdrestore reads. */
    public FileStat fstatFull(int fd) throws SysException {
        synchronized (lock) {
            arena.reset(Arena.space(Linux.STAT_SIZE));
            long at = arena.alloc(Linux.STAT_SIZE);
            call(ExecutorCore.OP_FSTAT, fd, at, 0, 0, 0, null, (c, a, r) -> "fstat(" + c.a0 + ")");
            return FileStat.read(arena.memory(), arena.offset(at));
        }
    }

    @Override
    public Batch batch() {
        return new ExecBatch(this);
    }

    // ------------------------------------------------------------------ beyond TaskTable

    /**
     * Queues {@code ascending} (fds of this table, in that order) in one hand-off: a SOCK_SEQPACKET
     * socketpair, every fd sent into one end with SCM_RIGHTS ({@link Linux#SCM_MAX_FD} a message, one
     * byte each), that end closed. Returns the other end, whose queue then holds them all; -1 when the
     * queue took only part (EAGAIN: the kernel's limit of fds in flight), with both ends closed and so
     * everything queued.
     *
     * @throws SysException a call failed; the executor closed whatever the batch had made
     */
    public int queueFds(int[] ascending) throws SysException {
        ExecBatch b = new ExecBatch(this);
        Batch.Ref[] ends = b.socketpair(Linux.AF_UNIX, Linux.SOCK_SEQPACKET, 0);
        List<Batch.Ref> sends = new ArrayList<>();
        for (int off = 0; off < ascending.length; off += Linux.SCM_MAX_FD) {
            sends.add(b.sendRights(ends[0], ascending, off, Math.min(Linux.SCM_MAX_FD, ascending.length - off)));
        }
        b.close(ends[0]);
        b.run();
        int end = (int) ends[1].get();
        for (Batch.Ref s : sends) {
            if (s.get() < 0) {
                close(end);
                return -1;
            }
        }
        return end;
    }

    /** The open fds of this table (sorted), listed on the executor via getdents64. */
    public int[] listFds() throws SysException {
        int cap = 1024;
        for (;;) {
            synchronized (lock) {
                arena.reset(4L * cap);
                long out = arena.alloc(4 * cap);
                if (tryCall(ExecutorCore.OP_LISTFDS, out, cap, 0, 0, 0)) {
                    int[] fds = new int[(int) core.r0];
                    for (int i = 0; i < fds.length; i++) {
                        fds[i] = arena.getInt(out + 4L * i);
                    }
                    Arrays.sort(fds);
                    return fds;
                }
                if (core.phase != ExecutorCore.PH_LIST_FULL || cap >= (1 << 22)) {
                    throw failure("listFds()");
                }
            }
            cap *= 4;
        }
    }

    /** The fds the JVM had open when the table was copied and that no place()/close() has replaced yet. */
    public int[] inheritedFds() {
        synchronized (lock) {
            int[] out = new int[64];
            int n = 0;
            for (int w = 0; w < core.inherited.length; w++) {
                long bits = core.inherited[w];
                while (bits != 0) {
                    int b = Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                    if (n == out.length) {
                        out = Arrays.copyOf(out, n * 2);
                    }
                    out[n++] = w * 64 + b;
                }
            }
            return Arrays.copyOf(out, n);
        }
    }

    /**
     * Runs on the executor: marks FD_CLOEXEC on every fd of the table except {@code spec.keepFds()}, clears
     * it on those, then posix_spawn. The child inherits this table. Returns the child's real pid; the
     * caller reaps it ({@link Sys#waitpid}).
     */
    public int spawn(SpawnSpec spec) throws SysException {
        SpawnEncoding e = new SpawnEncoding(spec);
        synchronized (lock) {
            arena.reset(e.need());
            e.writeTo(arena, core.ext);
            return (int) call(ExecutorCore.OP_SPAWN, 0, 0, 0, 0, 0, e, (c, a, r) -> r.toString());
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Ends the executor: every fd of the private table is closed (close_range(0, ~0U)) and the thread
     * exits. Idempotent. Waits for a call in progress on another thread to finish first.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (hand.closed()) {
                return;
            }
            if (hand.inline()) {
                hand.markClosed();
                return;
            }
            try {
                tryCall(ExecutorCore.OP_EXIT, 0, 0, 0, 0, 0);
            } catch (IllegalStateException dead) {
                // the executor already died: the kernel dropped its table with it
            }
            hand.markClosed();
        }
        hand.join();
    }

    /** Same as {@link #close()}, never throws: for failure paths. */
    public void abort() {
        try {
            close();
        } catch (RuntimeException ignored) {
            hand.markClosed();
        }
    }

    @Override
    public String toString() {
        return "ExecutorTaskTable[task " + pid + ", tid " + hand.tid() + ", floor " + floor
                + (hand.closed() ? ", closed" : "") + "]";
    }
}
