package fdrestore.core.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.LibC;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import jnr.ffi.Pointer;

/**
 * A {@link TaskTable} owned by one executor thread that called unshare(CLONE_FILES): every call is
 * encoded by the calling thread into a preallocated request slot and native arena, handed to the executor
 * (volatile state + brief spin + LockSupport park/unpark), run there by {@link ExecutorCore} and answered
 * back; failures come back as values and are thrown as {@link SysException} on the caller's thread.
 *
 * <p>Calls from several threads are serialised. Every fd a call creates is opened with O_CLOEXEC and moved
 * to {@code >= tempFloor} in the same hand-off. {@link #close()} (or {@link #abort()}) ends the executor:
 * it closes every fd of the private table (close_range 0..~0) and exits, which also drops any fd in
 * flight in the table's sockets.
 *
 * <p>Create with {@link TaskRuntime#start(int, int)}.
 */
public final class ExecutorTaskTable implements TaskTable, AutoCloseable {
    private static final int IDLE = 0;
    private static final int PENDING = 1;
    private static final int DONE = 2;
    /** How long a caller spins for the answer before parking (an op takes ~1-3 us). */
    static final long CALLER_SPIN_NANOS = Long.getLong("fdrestore.handoff.callerSpinNanos", 20_000L);
    /** How long an executor spins for the next request before parking. */
    static final long EXECUTOR_SPIN_NANOS = Long.getLong("fdrestore.handoff.executorSpinNanos", 20_000L);
    /**
     * How many threads may spin at once, JVM-wide. A spinning thread holds a core: with more spinners
     * than spare cores the threads that would answer them wait for a core instead (measured on 2 cores:
     * unbounded 50 us spins made a 32-task, 8,192-fd engine phase 3.7x slower than parking at once).
     * Default: half the cores beyond the first, so 0 on 2 cores.
     */
    static final int MAX_SPINNERS = Integer.getInteger("fdrestore.handoff.maxSpinners",
            (Runtime.getRuntime().availableProcessors() - 1) / 2);
    private static final java.util.concurrent.atomic.AtomicInteger SPINNERS = new java.util.concurrent.atomic.AtomicInteger();
    private static final long ALIVE_CHECK_NANOS = 50_000_000L;

    private final int pid;
    private final int floor;
    private final ExecutorCore core;
    private final boolean inline;
    private final Thread thread;
    private final Object lock = new Object();

    private volatile int state = IDLE;
    private volatile Thread waiter;
    private volatile boolean started;
    private volatile int startErr;
    private volatile int startPhase;
    private volatile int tid;
    private volatile boolean closed;

    private Pointer arena;
    private long arenaBase;
    private int arenaCap;
    private int arenaUsed;

    ExecutorTaskTable(int imagePid, int tempFloor, boolean inline) {
        if (tempFloor < 3) {
            throw new IllegalArgumentException("tempFloor must be >= 3: " + tempFloor);
        }
        this.pid = imagePid;
        this.floor = tempFloor;
        this.core = new ExecutorCore(tempFloor);
        this.inline = inline;
        setArena(16384);
        if (inline) {
            this.thread = null;
            this.started = true;
            this.tid = Sys.gettid();
        } else {
            this.thread = new Thread(null, new Loop(this), "fdrestore-task-" + imagePid, 512 * 1024);
            this.thread.setDaemon(true);
            this.thread.setUncaughtExceptionHandler(SilentHandler.INSTANCE);
        }
    }

    /** Starts the executor and waits until it owns its private table. */
    void start() throws SysException {
        begin();
        awaitStarted();
    }

    /** Starts the executor thread without waiting for it (see {@link #awaitStarted()}). */
    void begin() {
        if (inline) {
            return;
        }
        waiter = Thread.currentThread();
        thread.start();
    }

    /** Waits until the executor started by {@link #begin()} owns its private table, or failed to. */
    void awaitStarted() throws SysException {
        if (inline) {
            return;
        }
        while (!started) {
            LockSupport.parkNanos(this, ALIVE_CHECK_NANOS);
            if (!started && !thread.isAlive()) {
                break;
            }
        }
        if (!started || startErr != 0) {
            joinQuietly();
            closed = true;
            String call = startPhase == 0 ? "unshare(CLONE_FILES)" : "listing /proc/thread-self/fd";
            throw new SysException(call + " on the executor of task " + pid, startErr == 0 ? -1 : startErr);
        }
    }

    /** The executor loop: the only code that runs on the executor thread. */
    @NativeOnly
    static final class Loop implements Runnable {
        private final ExecutorTaskTable t;

        Loop(ExecutorTaskTable t) {
            this.t = t;
        }

        @Override
        public void run() {
            ExecutorTaskTable t = this.t;
            LibC c = Native.libc();
            t.tid = (int) c.syscall(Linux.SYS_GETTID);
            if (c.unshare(Linux.CLONE_FILES) < 0) {
                t.startErr = Native.errno();
                t.startPhase = 0;
                t.started = true;
                LockSupport.unpark(t.waiter);
                return;
            }
            t.core.privateTable = true;
            if (!t.core.recordInherited()) {
                t.startErr = t.core.err;
                t.startPhase = 1;
                c.syscall(Linux.SYS_CLOSE_RANGE, 0L, 0xffffffffL, 0L);
                t.started = true;
                LockSupport.unpark(t.waiter);
                return;
            }
            t.started = true;
            LockSupport.unpark(t.waiter);
            ExecutorCore core = t.core;
            long spinNanos = EXECUTOR_SPIN_NANOS;
            for (;;) {
                spinFor(t, PENDING, spinNanos);
                while (t.state != PENDING) {
                    LockSupport.park(t);
                }
                boolean more = core.dispatch();
                Thread w = t.waiter;
                t.state = DONE;
                LockSupport.unpark(w);
                if (!more) {
                    return;
                }
            }
        }
    }

    /** An uncaught-exception handler that never prints (fd 2 may be a restored file). */
    static final class SilentHandler implements Thread.UncaughtExceptionHandler {
        static final SilentHandler INSTANCE = new SilentHandler();

        @Override
        public void uncaughtException(Thread t, Throwable e) {
            // deliberately silent: callers notice the dead executor
        }
    }

    // ------------------------------------------------------------------ hand-off

    /**
     * Spins up to {@code nanos} until {@code t}'s state is {@code want}, if one of the
     * {@link #MAX_SPINNERS} spin slots is free; returns at once otherwise (the caller then parks). Runs on
     * executor threads too: primitives and an AtomicInteger only.
     */
    static void spinFor(ExecutorTaskTable t, int want, long nanos) {
        if (nanos <= 0 || t.state == want) {
            return;
        }
        for (;;) {
            int n = SPINNERS.get();
            if (n >= MAX_SPINNERS) {
                return;
            }
            if (SPINNERS.compareAndSet(n, n + 1)) {
                break;
            }
        }
        long deadline = System.nanoTime() + nanos;
        int spins = 0;
        while (t.state != want) {
            Thread.onSpinWait();
            if ((++spins & 63) == 0 && System.nanoTime() - deadline > 0) {
                break;
            }
        }
        SPINNERS.decrementAndGet();
    }

    /**
     * Puts an SCM_RIGHTS control message carrying {@code fds[0..count)} in the arena ({@code ctrl} bytes)
     * and points the msghdr at arena offset {@code m} to it. The caller holds the lock.
     */
    private void putRights(long m, int[] fds, int count, int ctrl) {
        long cm = alloc(ctrl);
        long o = cm - arenaBase;
        arena.putLong(o + Linux.CMSGHDR_OFF_CMSG_LEN, Linux.cmsgLen(4 * count));
        arena.putInt(o + Linux.CMSGHDR_OFF_CMSG_LEVEL, Linux.SOL_SOCKET);
        arena.putInt(o + Linux.CMSGHDR_OFF_CMSG_TYPE, Linux.SCM_RIGHTS);
        for (int i = 0; i < count; i++) {
            arena.putInt(o + Linux.CMSGHDR_SIZE + 4L * i, fds[i]);
        }
        arena.putLong(m + Linux.MSGHDR_OFF_MSG_CONTROL, cm);
        arena.putLong(m + Linux.MSGHDR_OFF_MSG_CONTROLLEN, ctrl);
    }

    /** Runs the request in core; the caller holds the lock. */
    private void handOff() {
        core.setArena(arena);
        if (inline) {
            core.dispatch();
            return;
        }
        waiter = Thread.currentThread();
        state = PENDING;
        LockSupport.unpark(thread);
        spinFor(this, DONE, CALLER_SPIN_NANOS);
        boolean interrupted = false;
        while (state != DONE) {
            LockSupport.parkNanos(this, ALIVE_CHECK_NANOS);
            if (Thread.interrupted()) {
                interrupted = true;
            }
            if (state != DONE && !thread.isAlive()) {
                closed = true;
                throw new IllegalStateException("the executor of task " + pid + " died");
            }
        }
        state = IDLE;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void request(int op, long x0, long x1, long x2, long x3, long x4) {
        if (closed) {
            throw new IllegalStateException("task table " + pid + " is closed");
        }
        core.op = op;
        core.a0 = x0;
        core.a1 = x1;
        core.a2 = x2;
        core.a3 = x3;
        core.a4 = x4;
        handOff();
    }

    private void setArena(int cap) {
        arena = Native.allocate(cap);
        arenaBase = arena.address();
        arenaCap = cap;
        arenaUsed = 0;
    }

    /** Starts a request that needs up to {@code need} bytes of arena. */
    private void reset(long need) {
        long total = need + 64;
        if (total > arenaCap) {
            if (total > Integer.MAX_VALUE / 2) {
                throw new IllegalArgumentException("request too large: " + need + " bytes");
            }
            setArena((int) Math.max(total, 2L * arenaCap));
        }
        arenaUsed = 0;
    }

    private long alloc(int size) {
        int off = (arenaUsed + 7) & ~7;
        if (off + size > arenaCap) {
            throw new IllegalStateException("arena overflow");
        }
        arenaUsed = off + size;
        arena.setMemory(off, size, (byte) 0);
        return arenaBase + off;
    }

    private long put(byte[] b, int off, int len) {
        long a = alloc(len);
        arena.put(a - arenaBase, b, off, len);
        return a;
    }

    private static int space(int len) {
        return ((len + 7) & ~7) + 8;
    }

    private SysException error(String call) {
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

    private static void refuseCreate(int flags, String call) {
        if ((flags & (Linux.O_CREAT | Linux.O_TRUNC | 020000000)) != 0) {
            throw new IllegalArgumentException(call + ": O_CREAT, O_TRUNC and O_TMPFILE are refused "
                    + "(a restore never creates or truncates files)");
        }
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
        return tid;
    }

    /** Whether this table's executor has ended. */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public int open(String path, int flags, int mode) throws SysException {
        return openAt(Linux.AT_FDCWD, path, flags, mode, "open(");
    }

    @Override
    public int openAt(int dirFd, String path, int flags, int mode) throws SysException {
        return openAt(dirFd, path, flags, mode, "openat(" + Sys.dirfd(dirFd) + ", ");
    }

    private int openAt(int dirFd, String path, int flags, int mode, String prefix) throws SysException {
        String call = prefix + Native.quote(path) + ", " + Linux.openFlags(flags) + Sys.modeArg(flags, mode) + ")";
        refuseCreate(flags, call);
        byte[] p = Native.cString(path);
        synchronized (lock) {
            reset(space(p.length));
            long pa = put(p, 0, p.length);
            request(ExecutorCore.OP_OPENAT, dirFd, pa, flags, mode, 0);
            if (core.err != 0) {
                throw error(call);
            }
            return (int) core.r0;
        }
    }

    @Override
    public int openAt2(int dirFd, String path, int flags, int mode, long resolve) throws SysException {
        String call = "openat2(" + Sys.dirfd(dirFd) + ", " + Native.quote(path) + ", {" + Linux.openFlags(flags)
                + ", mode 0" + Integer.toOctalString(mode) + ", resolve 0x" + Long.toHexString(resolve) + "})";
        refuseCreate(flags, call);
        byte[] p = Native.cString(path);
        synchronized (lock) {
            reset(space(p.length) + space(Linux.OPEN_HOW_SIZE));
            long pa = put(p, 0, p.length);
            long how = putHow(flags, mode, resolve);
            request(ExecutorCore.OP_OPENAT2, dirFd, pa, how, 0, 0);
            if (core.err != 0) {
                throw error(call);
            }
            return (int) core.r0;
        }
    }

    private long putHow(int flags, int mode, long resolve) {
        long how = alloc(Linux.OPEN_HOW_SIZE);
        long off = how - arenaBase;
        arena.putLong(off, (flags | Linux.O_CLOEXEC) & 0xffffffffL);
        arena.putLong(off + 8, mode);
        arena.putLong(off + 16, resolve);
        return how;
    }

    @Override
    public int[] pipe(int flags) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_PIPE, flags, 0, 0, 0, 0);
            if (core.err != 0) {
                throw error("pipe2(" + Linux.openFlags(flags) + ")");
            }
            return new int[] {(int) core.r0, (int) core.r1};
        }
    }

    @Override
    public int socket(int domain, int type, int protocol) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_SOCKET, domain, type, protocol, 0, 0);
            if (core.err != 0) {
                throw error("socket(" + domain + ", " + type + ", " + protocol + ")");
            }
            return (int) core.r0;
        }
    }

    @Override
    public int[] socketpair(int domain, int type, int protocol) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_SOCKETPAIR, domain, type, protocol, 0, 0);
            if (core.err != 0) {
                throw error("socketpair(" + domain + ", " + type + ", " + protocol + ")");
            }
            return new int[] {(int) core.r0, (int) core.r1};
        }
    }

    @Override
    public int dup(int fd) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_DUP, fd, 0, 0, 0, 0);
            if (core.err != 0) {
                throw error("fcntl(" + fd + ", F_DUPFD_CLOEXEC, " + floor + ")");
            }
            return (int) core.r0;
        }
    }

    @Override
    public void close(int fd) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_CLOSE, fd, 0, 0, 0, 0);
            if (core.err != 0) {
                throw error("close(" + fd + ")");
            }
        }
    }

    @Override
    public void place(int fd, int target, boolean cloexec) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_PLACE, fd, target, cloexec ? 1 : 0, 0, 0);
            if (core.err != 0) {
                throw error("place(" + fd + " -> " + target + (cloexec ? ", O_CLOEXEC" : "") + ") [dup3+close]");
            }
        }
    }

    @Override
    public void placeAll(int[] src, int[] dst, int[] flags, int count) throws SysException {
        if (count <= 0) {
            return;
        }
        synchronized (lock) {
            reset(space(12 * count));
            long a = alloc(12 * count);
            long o = a - arenaBase;
            for (int i = 0; i < count; i++) {
                arena.putInt(o + 12L * i, src[i]);
                arena.putInt(o + 12L * i + 4, dst[i]);
                arena.putInt(o + 12L * i + 8, flags[i]);
            }
            request(ExecutorCore.OP_PLACE_ALL, a, count, 0, 0, 0);
            if (core.err != 0) {
                int i = (int) core.r1;
                throw error((flags[i] & KEEP_SOURCE) != 0
                        ? "dup3(" + src[i] + ", " + dst[i] + ((flags[i] & PLACE_CLOEXEC) != 0 ? ", O_CLOEXEC)" : ", 0)")
                        : "place(" + src[i] + " -> " + dst[i] + ((flags[i] & PLACE_CLOEXEC) != 0 ? ", O_CLOEXEC" : "")
                                + ") [dup3+close]");
            }
        }
    }

    @Override
    public long lseek(int fd, long offset, int whence) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_LSEEK, fd, offset, whence, 0, 0);
            if (core.err != 0) {
                throw error("lseek(" + fd + ", " + offset + ", " + Sys.whence(whence) + ")");
            }
            return core.r0;
        }
    }

    @Override
    public long fcntl(int fd, int cmd, long arg) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_FCNTL, fd, cmd, arg, 0, 0);
            if (core.err != 0) {
                throw error("fcntl(" + fd + ", " + Linux.fcntlCmd(cmd) + ", " + arg + ")");
            }
            return core.r0;
        }
    }

    @Override
    public int ioctl(int fd, long request, long arg) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_IOCTL, fd, request, arg, 0, 0);
            if (core.err != 0) {
                throw error("ioctl(" + fd + ", " + Linux.ioctlRequest(request) + ", " + arg + ")");
            }
            return (int) core.r0;
        }
    }

    @Override
    public int ioctl(int fd, long request, byte[] buf) throws SysException {
        synchronized (lock) {
            reset(space(buf.length));
            long a = put(buf, 0, buf.length);
            request(ExecutorCore.OP_IOCTL_PTR, fd, request, a, 0, 0);
            if (core.err != 0) {
                throw error("ioctl(" + fd + ", " + Linux.ioctlRequest(request) + ", <" + buf.length + " bytes>)");
            }
            arena.get(a - arenaBase, buf, 0, buf.length);
            return (int) core.r0;
        }
    }

    @Override
    public int write(int fd, byte[] data, int off, int len) throws SysException {
        java.util.Objects.checkFromIndexSize(off, len, data.length);
        synchronized (lock) {
            reset(space(len));
            long a = put(data, off, len);
            request(ExecutorCore.OP_WRITE, fd, a, len, 0, 0);
            if (core.err != 0) {
                throw error("write(" + fd + ", <buf>, " + len + ")");
            }
            return (int) core.r0;
        }
    }

    /** read(2) in this table; returns the count read, 0 at end of file, or -1 on EAGAIN. */
    @Override
    public int read(int fd, byte[] buf, int off, int len) throws SysException {
        java.util.Objects.checkFromIndexSize(off, len, buf.length);
        synchronized (lock) {
            reset(space(len));
            long a = alloc(len);
            request(ExecutorCore.OP_READ, fd, a, len, 0, 0);
            if (core.err != 0) {
                throw error("read(" + fd + ", <buf>, " + len + ")");
            }
            int n = (int) core.r0;
            if (n > 0) {
                arena.get(a - arenaBase, buf, off, n);
            }
            return n;
        }
    }

    private long sys(long nr, long a1, long a2, long a3, long a4, String call) throws SysException {
        request(ExecutorCore.OP_SYSCALL, nr, a1, a2, a3, a4);
        if (core.err != 0) {
            throw error(call);
        }
        return core.r0;
    }

    private int sysFd(long nr, long a1, long a2, long a3, long a4, String call) throws SysException {
        request(ExecutorCore.OP_SYSCALL_FD, nr, a1, a2, a3, a4);
        if (core.err != 0) {
            throw error(call);
        }
        return (int) core.r0;
    }

    @Override
    public int epollCreate(int flags) throws SysException {
        synchronized (lock) {
            reset(0);
            return sysFd(Linux.SYS_EPOLL_CREATE1, flags | Linux.O_CLOEXEC, 0, 0, 0, "epoll_create1(" + flags + ")");
        }
    }

    @Override
    public void epollCtl(int epfd, int op, int fd, int events, long data) throws SysException {
        synchronized (lock) {
            reset(space(12));
            long ev = alloc(12);
            arena.putInt(ev - arenaBase, events);
            arena.putLong(ev - arenaBase + 4, data);
            sys(Linux.SYS_EPOLL_CTL, epfd, op, fd, ev, "epoll_ctl(" + epfd + ", " + op + ", " + fd + ", {events=0x"
                    + Integer.toHexString(events) + ", data=0x" + Long.toHexString(data) + "})");
        }
    }

    @Override
    public int timerfdCreate(int clockid, int flags) throws SysException {
        synchronized (lock) {
            reset(0);
            return sysFd(Linux.SYS_TIMERFD_CREATE, clockid, flags | Linux.O_CLOEXEC, 0, 0,
                    "timerfd_create(" + clockid + ", " + flags + ")");
        }
    }

    @Override
    public void timerfdSettime(int fd, int flags, long valueSec, long valueNsec, long intervalSec, long intervalNsec)
            throws SysException {
        synchronized (lock) {
            reset(space(32));
            long its = alloc(32);
            long o = its - arenaBase;
            arena.putLong(o, intervalSec);
            arena.putLong(o + 8, intervalNsec);
            arena.putLong(o + 16, valueSec);
            arena.putLong(o + 24, valueNsec);
            sys(Linux.SYS_TIMERFD_SETTIME, fd, flags, its, 0, "timerfd_settime(" + fd + ", " + flags + ", {value="
                    + valueSec + "." + valueNsec + ", interval=" + intervalSec + "." + intervalNsec + "})");
        }
    }

    @Override
    public long[] timerfdGettime(int fd) throws SysException {
        synchronized (lock) {
            reset(space(32));
            long its = alloc(32);
            sys(Linux.SYS_TIMERFD_GETTIME, fd, its, 0, 0, "timerfd_gettime(" + fd + ")");
            long o = its - arenaBase;
            return new long[] {arena.getLong(o + 16), arena.getLong(o + 24), arena.getLong(o), arena.getLong(o + 8)};
        }
    }

    @Override
    public int eventfd(int initval, int flags) throws SysException {
        synchronized (lock) {
            reset(0);
            return sysFd(Linux.SYS_EVENTFD2, initval & 0xffffffffL, flags | Linux.O_CLOEXEC, 0, 0,
                    "eventfd2(" + Integer.toUnsignedString(initval) + ", " + flags + ")");
        }
    }

    @Override
    public int adopt(int jvmFd) throws SysException {
        if (jvmFd < 0) {
            throw new IllegalArgumentException("adopt(" + jvmFd + "): not an fd");
        }
        int tid = Sys.gettid();
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_ADOPT, tid, jvmFd, 0, 0, 0);
            if (core.err != 0) {
                throw error("adopt(JVM fd " + jvmFd + ") (pidfd_getfd)");
            }
            return (int) core.r0;
        }
    }

    @Override
    public long syscall(String name, Object... args) throws SysException {
        long nr = fdrestore.api.spi.Syscalls.checkForTaskTable(name, args);
        synchronized (lock) {
            int need = 0;
            for (Object a : args) {
                if (a instanceof byte[] b) {
                    need += space(b.length);
                } else if (a instanceof String str) {
                    need += space(fdrestore.api.spi.Syscalls.cString(str).length);
                }
            }
            reset(need);
            long[] v = new long[fdrestore.api.spi.Syscalls.MAX_ARGS];
            long[] at = new long[fdrestore.api.spi.Syscalls.MAX_ARGS];
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof byte[] b) {
                    v[i] = at[i] = put(b, 0, b.length);
                } else if (a instanceof String str) {
                    byte[] c = fdrestore.api.spi.Syscalls.cString(str);
                    v[i] = put(c, 0, c.length);
                } else if (a instanceof Number n) {
                    v[i] = n.longValue();
                }
            }
            core.ext[0] = v[4];
            request(ExecutorCore.OP_SYSCALL5, nr, v[0], v[1], v[2], v[3]);
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof byte[] b && b.length > 0) {
                    arena.get(at[i] - arenaBase, b, 0, b.length);
                }
            }
            if (core.err != 0) {
                throw error(fdrestore.api.spi.Syscalls.describe(name, args));
            }
            return core.r0;
        }
    }

    @Override
    public int accept(int fd, int flags) throws SysException {
        synchronized (lock) {
            reset(0);
            try {
                return sysFd(Linux.SYS_ACCEPT4, fd, 0, 0, flags | Linux.SOCK_CLOEXEC, "accept4(" + fd + ", " + flags + ")");
            } catch (SysException e) {
                if (e.errno() == Errno.EAGAIN) {
                    return -1;
                }
                throw e;
            }
        }
    }

    @Override
    public void shutdown(int fd, int how) throws SysException {
        synchronized (lock) {
            reset(0);
            sys(Linux.SYS_SHUTDOWN, fd, how, 0, 0, "shutdown(" + fd + ", " + how + ")");
        }
    }

    private byte[] sockName(long nr, int fd, String call) throws SysException {
        synchronized (lock) {
            reset(space(128) + space(4));
            long a = alloc(128);
            long lenp = alloc(4);
            arena.putInt(lenp - arenaBase, 128);
            sys(nr, fd, a, lenp, 0, call + "(" + fd + ")");
            int len = Math.min(arena.getInt(lenp - arenaBase), 128);
            byte[] out = new byte[len];
            arena.get(a - arenaBase, out, 0, len);
            return out;
        }
    }

    @Override
    public byte[] getsockname(int fd) throws SysException {
        return sockName(Linux.SYS_GETSOCKNAME, fd, "getsockname");
    }

    @Override
    public byte[] getpeername(int fd) throws SysException {
        return sockName(Linux.SYS_GETPEERNAME, fd, "getpeername");
    }

    @Override
    public int send(int fd, byte[] data, int off, int len, int[] fds, int fdCount) throws SysException {
        java.util.Objects.checkFromIndexSize(off, len, data.length);
        byte[] slice = off == 0 ? data : Arrays.copyOfRange(data, off, off + len);
        int ctrl = fdCount > 0 ? Linux.cmsgSpace(4 * fdCount) : 0;
        synchronized (lock) {
            reset(space(Linux.MSGHDR_SIZE) + space(Linux.IOVEC_SIZE) + space(ctrl) + space(len));
            long msg = alloc(Linux.MSGHDR_SIZE);
            long iov = alloc(Linux.IOVEC_SIZE);
            long m = msg - arenaBase;
            long a = len > 0 ? put(slice, 0, len) : 0;
            arena.putLong(iov - arenaBase, a);
            arena.putLong(iov - arenaBase + 8, len);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOV, iov);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOVLEN, 1);
            if (fdCount > 0) {
                putRights(m, fds, fdCount, ctrl);
            }
            request(ExecutorCore.OP_SENDMSG, fd, msg, Linux.MSG_DONTWAIT | Linux.MSG_NOSIGNAL, 0, 0);
            if (core.err != 0) {
                throw error("sendmsg(" + fd + ", " + len + " bytes" + (fdCount > 0 ? ", SCM_RIGHTS "
                        + Arrays.toString(Arrays.copyOf(fds, fdCount)) : "") + ", MSG_DONTWAIT|MSG_NOSIGNAL)");
            }
            return (int) core.r0;
        }
    }

    @Override
    public Stat fstat(int fd) throws SysException {
        FileStat s = fstatFull(fd);
        return new Stat(s.mode(), s.size(), s.dev(), s.ino(), s.rdev());
    }

    /** fstat(2) with every field fdrestore reads. */
    public FileStat fstatFull(int fd) throws SysException {
        synchronized (lock) {
            reset(space(Linux.STAT_SIZE));
            long a = alloc(Linux.STAT_SIZE);
            request(ExecutorCore.OP_FSTAT, fd, a, 0, 0, 0);
            if (core.err != 0) {
                throw error("fstat(" + fd + ")");
            }
            return FileStat.read(arena, a - arenaBase);
        }
    }

    @Override
    public void bind(int fd, byte[] sockaddr) throws SysException {
        synchronized (lock) {
            reset(space(sockaddr.length));
            long a = put(sockaddr, 0, sockaddr.length);
            request(ExecutorCore.OP_BIND, fd, a, sockaddr.length, 0, 0);
            if (core.err != 0) {
                throw error("bind(" + fd + ", " + Native.sockaddr(sockaddr) + ")");
            }
        }
    }

    @Override
    public void listen(int fd, int backlog) throws SysException {
        synchronized (lock) {
            reset(0);
            request(ExecutorCore.OP_LISTEN, fd, backlog, 0, 0, 0);
            if (core.err != 0) {
                throw error("listen(" + fd + ", " + backlog + ")");
            }
        }
    }

    @Override
    public boolean connect(int fd, byte[] sockaddr) throws SysException {
        synchronized (lock) {
            reset(space(sockaddr.length));
            long a = put(sockaddr, 0, sockaddr.length);
            request(ExecutorCore.OP_CONNECT, fd, a, sockaddr.length, 0, 0);
            if (core.err != 0) {
                throw error("connect(" + fd + ", " + Native.sockaddr(sockaddr) + ")");
            }
            return core.r0 != 0;
        }
    }

    @Override
    public void setsockopt(int fd, int level, int name, byte[] value) throws SysException {
        synchronized (lock) {
            reset(space(value.length));
            long a = put(value, 0, value.length);
            request(ExecutorCore.OP_SETSOCKOPT, fd, level, name, a, value.length);
            if (core.err != 0) {
                throw error("setsockopt(" + fd + ", " + level + ", " + name + ", <" + value.length + " bytes>)");
            }
        }
    }

    /** getsockopt(2) into {@code out}; returns the option's length. */
    @Override
    public int getsockopt(int fd, int level, int name, byte[] out) throws SysException {
        synchronized (lock) {
            reset(space(out.length) + space(4));
            long a = alloc(out.length);
            long lenp = alloc(4);
            arena.putInt(lenp - arenaBase, out.length);
            request(ExecutorCore.OP_GETSOCKOPT, fd, level, name, a, lenp);
            if (core.err != 0) {
                throw error("getsockopt(" + fd + ", " + level + ", " + name + ")");
            }
            int len = arena.getInt(lenp - arenaBase);
            arena.get(a - arenaBase, out, 0, Math.min(len, out.length));
            return len;
        }
    }

    @Override
    public boolean sendFds(int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds, int fdCount)
            throws SysException {
        if (fdCount < 0 || fdCount > Linux.SCM_MAX_FD) {
            throw new IllegalArgumentException("0.." + Linux.SCM_MAX_FD + " fds a message: " + fdCount);
        }
        if (payloadLen < 0 || payloadLen > (payload == null ? 0 : payload.length)) {
            throw new IllegalArgumentException("bad payload length " + payloadLen);
        }
        int ctrl = fdCount > 0 ? Linux.cmsgSpace(4 * fdCount) : 0;
        int nameLen = dest == null ? 0 : dest.length;
        synchronized (lock) {
            reset(space(Linux.MSGHDR_SIZE) + space(Linux.IOVEC_SIZE) + space(ctrl) + space(nameLen)
                    + space(payloadLen));
            long msg = alloc(Linux.MSGHDR_SIZE);
            long iov = alloc(Linux.IOVEC_SIZE);
            long m = msg - arenaBase;
            long data = payloadLen > 0 ? put(payload, 0, payloadLen) : 0;
            arena.putLong(iov - arenaBase, data);
            arena.putLong(iov - arenaBase + 8, payloadLen);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOV, iov);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOVLEN, 1);
            if (nameLen > 0) {
                long name = put(dest, 0, nameLen);
                arena.putLong(m + Linux.MSGHDR_OFF_MSG_NAME, name);
                arena.putInt(m + Linux.MSGHDR_OFF_MSG_NAMELEN, nameLen);
            }
            if (fdCount > 0) {
                putRights(m, fds, fdCount, ctrl);
            }
            request(ExecutorCore.OP_SENDMSG, sock, msg, Linux.MSG_DONTWAIT | Linux.MSG_NOSIGNAL, 0, 0);
            if (core.err != 0) {
                throw error("sendmsg(" + sock + ", " + Native.sockaddr(dest) + ", " + payloadLen + " bytes, SCM_RIGHTS "
                        + Arrays.toString(Arrays.copyOf(fds, fdCount)) + ", MSG_DONTWAIT|MSG_NOSIGNAL)");
            }
            return core.r0 >= 0;
        }
    }

    @Override
    public Received recvFds(int sock, byte[] payload, int[] fdsOut) throws SysException {
        int plen = payload == null ? 0 : payload.length;
        int cap = fdsOut == null ? 0 : fdsOut.length;
        int ctrl = Linux.cmsgSpace(4 * Linux.SCM_MAX_FD) + Linux.cmsgSpace(Linux.UCRED_SIZE);
        synchronized (lock) {
            reset(space(Linux.MSGHDR_SIZE) + space(Linux.IOVEC_SIZE) + space(ctrl) + space(plen)
                    + space(4 * Math.max(cap, 1)));
            long msg = alloc(Linux.MSGHDR_SIZE);
            long iov = alloc(Linux.IOVEC_SIZE);
            long cm = alloc(ctrl);
            long data = alloc(Math.max(plen, 1));
            long out = alloc(4 * Math.max(cap, 1));
            long m = msg - arenaBase;
            arena.putLong(iov - arenaBase, data);
            arena.putLong(iov - arenaBase + 8, plen);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_NAME, 0);
            arena.putInt(m + Linux.MSGHDR_OFF_MSG_NAMELEN, 0);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOV, iov);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_IOVLEN, 1);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_CONTROL, cm);
            arena.putLong(m + Linux.MSGHDR_OFF_MSG_CONTROLLEN, ctrl);
            arena.putInt(m + Linux.MSGHDR_OFF_MSG_FLAGS, 0);
            request(ExecutorCore.OP_RECVFDS, sock, msg, out, cap, 0);
            if (core.err != 0) {
                throw error("recvmsg(" + sock + ", MSG_DONTWAIT|MSG_CMSG_CLOEXEC)");
            }
            if (core.r0 < 0) {
                return null;
            }
            int n = (int) core.r0;
            if (n > 0) {
                arena.get(data - arenaBase, payload, 0, Math.min(n, plen));
            }
            int count = (int) core.r1;
            for (int i = 0; i < count; i++) {
                fdsOut[i] = arena.getInt(out - arenaBase + 4L * i);
            }
            return new Received(n, count, (int) core.r2, (int) core.r3, core.r4 != 0);
        }
    }

    // ------------------------------------------------------------------ batch

    @Override
    public Batch batch() {
        return new ExecBatch();
    }

    private final class ExecBatch implements Batch {
        private long[] ops = new long[ExecutorCore.BATCH_STRIDE * 8];
        private final List<String> paths = new ArrayList<>();
        private final List<long[]> hows = new ArrayList<>();
        private int count;
        private long[] results;
        private boolean ran;

        private class R implements Ref {
            final int index;

            R(int index) {
                this.index = index;
            }

            boolean belongsTo(ExecBatch b) {
                return b == ExecBatch.this;
            }

            @Override
            public long get() {
                if (results == null) {
                    throw new IllegalStateException("the batch has not run (or failed)");
                }
                return results[index];
            }

            @Override
            public String toString() {
                return "<result of op #" + index + ">";
            }
        }

        private R add(int op, long x0, long x1, long x2, long x3, long x4, long refMask, String path, long[] how) {
            if (ran) {
                throw new IllegalStateException("a batch runs once");
            }
            int base = count * ExecutorCore.BATCH_STRIDE;
            if (base + ExecutorCore.BATCH_STRIDE > ops.length) {
                ops = Arrays.copyOf(ops, ops.length * 2);
            }
            ops[base] = op;
            ops[base + 1] = x0;
            ops[base + 2] = x1;
            ops[base + 3] = x2;
            ops[base + 4] = x3;
            ops[base + 5] = x4;
            ops[base + 6] = refMask;
            ops[base + 7] = 0;
            paths.add(path);
            hows.add(how);
            return new R(count++);
        }

        private int ref(Ref r) {
            if (!(r instanceof R) || !((R) r).belongsTo(this)) {
                throw new IllegalArgumentException("a Ref of another batch: " + r);
            }
            return ((R) r).index;
        }

        @Override
        public Ref open(String path, int flags, int mode) {
            refuseCreate(flags, "open(" + Native.quote(path) + ", " + Linux.openFlags(flags) + ")");
            Native.cString(path);
            return add(ExecutorCore.OP_OPENAT, Linux.AT_FDCWD, 0, flags, mode, 0, 0, path, null);
        }

        @Override
        public Ref openAt2(int dirFd, String path, int flags, int mode, long resolve) {
            refuseCreate(flags, "openat2(" + Native.quote(path) + ", " + Linux.openFlags(flags) + ")");
            Native.cString(path);
            return add(ExecutorCore.OP_OPENAT2, dirFd, 0, 0, 0, 0, 0, path, new long[] {flags, mode, resolve});
        }

        @Override
        public Ref openAt2(Ref dirFd, String path, int flags, int mode, long resolve) {
            refuseCreate(flags, "openat2(" + Native.quote(path) + ", " + Linux.openFlags(flags) + ")");
            Native.cString(path);
            return add(ExecutorCore.OP_OPENAT2, ref(dirFd), 0, 0, 0, 0, 1, path, new long[] {flags, mode, resolve});
        }

        private final List<Integer> statOps = new ArrayList<>();
        private final java.util.Map<Integer, Stat> stats = new java.util.HashMap<>();

        private final class S extends R implements StatRef {
            S(int index) {
                super(index);
            }

            @Override
            public Stat stat() {
                Stat st = stats.get(index);
                if (st == null) {
                    throw new IllegalStateException("the batch has not run (or failed)");
                }
                return st;
            }
        }

        @Override
        public StatRef fstat(Ref fd) {
            R r = add(ExecutorCore.OP_FSTAT, ref(fd), 0, 0, 0, 0, 1, null, null);
            statOps.add(r.index);
            return new S(r.index);
        }

        @Override
        public Ref[] pipe(int flags) {
            R read = add(ExecutorCore.OP_PIPE, flags, 0, 0, 0, 0, 0, null, null);
            R write = add(ExecutorCore.OP_SECOND, 0, 0, 0, 0, 0, 0, null, null);
            return new Ref[] {read, write};
        }

        @Override
        public Ref dup(Ref fd) {
            return add(ExecutorCore.OP_DUP, ref(fd), 0, 0, 0, 0, 1, null, null);
        }

        private final java.util.Map<Integer, byte[]> data = new java.util.HashMap<>();

        @Override
        public Ref write(Ref fd, byte[] bytes) {
            R r = add(ExecutorCore.OP_WRITE, ref(fd), 0, bytes.length, 0, 0, 1, null, null);
            data.put(r.index, bytes.clone());
            return r;
        }

        /** setsockopt values, by op index: their address goes in x3 (x4 is the length). */
        private final java.util.Map<Integer, byte[]> optValues = new java.util.HashMap<>();

        @Override
        public Ref socket(int domain, int type, int protocol) {
            return add(ExecutorCore.OP_SOCKET, domain, type, protocol, 0, 0, 0, null, null);
        }

        @Override
        public Ref setsockopt(Ref fd, int level, int name, byte[] value) {
            R r = add(ExecutorCore.OP_SETSOCKOPT, ref(fd), level, name, 0, value.length, 1, null, null);
            optValues.put(r.index, value.clone());
            return r;
        }

        @Override
        public Ref bind(Ref fd, byte[] sockaddr) {
            R r = add(ExecutorCore.OP_BIND, ref(fd), 0, sockaddr.length, 0, 0, 1, null, null);
            data.put(r.index, sockaddr.clone());
            return r;
        }

        @Override
        public Ref lseek(Ref fd, long offset, int whence) {
            return add(ExecutorCore.OP_LSEEK, ref(fd), offset, whence, 0, 0, 1, null, null);
        }

        @Override
        public Ref fcntl(Ref fd, int cmd, long arg) {
            return add(ExecutorCore.OP_FCNTL, ref(fd), cmd, arg, 0, 0, 1, null, null);
        }

        @Override
        public Ref ioctl(Ref fd, long request, long arg) {
            return add(ExecutorCore.OP_IOCTL, ref(fd), request, arg, 0, 0, 1, null, null);
        }

        @Override
        public Ref close(Ref fd) {
            return add(ExecutorCore.OP_CLOSE, ref(fd), 0, 0, 0, 0, 1, null, null);
        }

        @Override
        public Ref fd(int fd) {
            return add(ExecutorCore.OP_CONST, fd, 0, 0, 0, 0, 0, null, null);
        }

        private int failed = -1;

        @Override
        public int size() {
            return count;
        }

        @Override
        public int failedCall() {
            return failed;
        }

        @Override
        public void run() throws SysException {
            if (ran) {
                throw new IllegalStateException("a batch runs once");
            }
            ran = true;
            if (count == 0) {
                results = new long[0];
                return;
            }
            long[] res = new long[count];
            byte[][] cs = new byte[count][];
            long need = 0;
            for (int i = 0; i < count; i++) {
                if (paths.get(i) != null) {
                    cs[i] = Native.cString(paths.get(i));
                    need += space(cs[i].length);
                }
                if (hows.get(i) != null) {
                    need += space(Linux.OPEN_HOW_SIZE);
                }
            }
            need += statOps.size() * space(Linux.STAT_SIZE);
            for (byte[] d : data.values()) {
                need += space(d.length);
            }
            for (byte[] d : optValues.values()) {
                need += space(d.length);
            }
            synchronized (lock) {
                reset(need);
                for (int i = 0; i < count; i++) {
                    int base = i * ExecutorCore.BATCH_STRIDE;
                    if (cs[i] != null) {
                        long pa = put(cs[i], 0, cs[i].length);
                        if (ops[base] == ExecutorCore.OP_OPENAT) {
                            ops[base + 2] = pa;
                        } else {
                            long[] h = hows.get(i);
                            ops[base + 2] = pa;
                            ops[base + 3] = putHow((int) h[0], (int) h[1], h[2]);
                        }
                    }
                }
                for (int i : statOps) {
                    ops[i * ExecutorCore.BATCH_STRIDE + 2] = alloc(Linux.STAT_SIZE);
                }
                for (java.util.Map.Entry<Integer, byte[]> e : data.entrySet()) {
                    byte[] d = e.getValue();
                    ops[e.getKey() * ExecutorCore.BATCH_STRIDE + 2] = put(d, 0, d.length);
                }
                for (java.util.Map.Entry<Integer, byte[]> e : optValues.entrySet()) {
                    byte[] d = e.getValue();
                    ops[e.getKey() * ExecutorCore.BATCH_STRIDE + 4] = put(d, 0, d.length);
                }
                core.bops = ops;
                core.bres = res;
                core.bcount = count;
                try {
                    request(ExecutorCore.OP_BATCH, 0, 0, 0, 0, 0);
                } finally {
                    core.bops = null;
                    core.bres = null;
                }
                if (core.err != 0) {
                    int i = core.failIndex;
                    failed = i;
                    throw error("batch op #" + i + " of " + count + ": " + describe(i, res));
                }
                for (int i : statOps) {
                    FileStat f = FileStat.read(arena, ops[i * ExecutorCore.BATCH_STRIDE + 2] - arenaBase);
                    stats.put(i, new Stat(f.mode(), f.size(), f.dev(), f.ino(), f.rdev()));
                }
                results = res;
            }
        }

        private String describe(int i, long[] res) {
            int base = i * ExecutorCore.BATCH_STRIDE;
            int op = (int) ops[base];
            long mask = ops[base + 6];
            long x0 = (mask & 1) != 0 ? res[(int) ops[base + 1]] : ops[base + 1];
            long x1 = ops[base + 2];
            long x2 = ops[base + 3];
            switch (op) {
                case ExecutorCore.OP_OPENAT:
                    return "open(" + Native.quote(paths.get(i)) + ", " + Linux.openFlags((int) x2)
                            + Sys.modeArg((int) x2, (int) ops[base + 4]) + ")";
                case ExecutorCore.OP_OPENAT2: {
                    long[] h = hows.get(i);
                    return "openat2(" + Sys.dirfd((int) x0) + ", " + Native.quote(paths.get(i)) + ", {"
                            + Linux.openFlags((int) h[0]) + ", mode 0" + Long.toOctalString(h[1]) + ", resolve 0x"
                            + Long.toHexString(h[2]) + "})";
                }
                case ExecutorCore.OP_LSEEK:
                    return "lseek(" + x0 + ", " + x1 + ", " + Sys.whence((int) x2) + ")";
                case ExecutorCore.OP_FCNTL:
                    return "fcntl(" + x0 + ", " + Linux.fcntlCmd((int) x1) + ", " + x2 + ")";
                case ExecutorCore.OP_IOCTL:
                    return "ioctl(" + x0 + ", " + Linux.ioctlRequest(x1) + ", " + x2 + ")";
                case ExecutorCore.OP_CLOSE:
                    return "close(" + x0 + ")";
                case ExecutorCore.OP_FSTAT:
                    return "fstat(" + x0 + ")";
                case ExecutorCore.OP_DUP:
                    return "dup(" + x0 + ")";
                case ExecutorCore.OP_PIPE:
                    return "pipe2(" + Linux.openFlags((int) x0) + ")";
                case ExecutorCore.OP_WRITE:
                    return "write(" + x0 + ", <buf>, " + x2 + ")";
                case ExecutorCore.OP_SOCKET:
                    return "socket(" + x0 + ", " + x1 + ", " + x2 + ")";
                case ExecutorCore.OP_SETSOCKOPT:
                    return "setsockopt(" + x0 + ", " + x1 + ", " + x2 + ", <" + ops[base + 5] + " bytes>)";
                case ExecutorCore.OP_BIND:
                    return "bind(" + x0 + ", <" + x2 + " bytes>)";
                default:
                    return "op " + op;
            }
        }
    }

    // ------------------------------------------------------------------ beyond TaskTable

    /** The open fds of this table (sorted), listed on the executor via getdents64. */
    public int[] listFds() throws SysException {
        int cap = 1024;
        for (;;) {
            synchronized (lock) {
                reset(4L * cap);
                long out = alloc(4 * cap);
                request(ExecutorCore.OP_LISTFDS, out, cap, 0, 0, 0);
                if (core.err == 0) {
                    int n = (int) core.r0;
                    int[] fds = new int[n];
                    for (int i = 0; i < n; i++) {
                        fds[i] = arena.getInt(out - arenaBase + 4L * i);
                    }
                    Arrays.sort(fds);
                    return fds;
                }
                if (core.phase != ExecutorCore.PH_LIST_FULL || cap >= (1 << 22)) {
                    throw error("listFds()");
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
        int[] keep = spec.sortedKeepFds();
        byte[] path = Native.cString(spec.path());
        List<byte[]> argv = new ArrayList<>();
        for (String a : spec.argv()) {
            argv.add(Native.cString(a));
        }
        List<byte[]> envp = new ArrayList<>();
        for (String e : spec.envp()) {
            envp.add(Native.cString(e));
        }
        List<SpawnSpec.FileAction> acts = spec.actions();
        List<byte[]> actPaths = new ArrayList<>();
        long need = space(path.length) + space(8 * (argv.size() + 1)) + space(8 * (envp.size() + 1))
                + space(4 * Math.max(keep.length, 1)) + space(32 * Math.max(acts.size(), 1));
        for (byte[] b : argv) {
            need += space(b.length);
        }
        for (byte[] b : envp) {
            need += space(b.length);
        }
        for (SpawnSpec.FileAction a : acts) {
            byte[] p = null;
            if (a instanceof SpawnSpec.Open o) {
                p = Native.cString(o.path());
            } else if (a instanceof SpawnSpec.Chdir c) {
                p = Native.cString(c.path());
            }
            actPaths.add(p);
            if (p != null) {
                need += space(p.length);
            }
        }
        String call = "posix_spawn(" + Native.quote(spec.path()) + ", " + spec.argv() + ", keep "
                + Arrays.toString(keep) + (spec.setsid() ? ", POSIX_SPAWN_SETSID" : "")
                + (spec.pgroup() >= 0 ? ", POSIX_SPAWN_SETPGROUP " + spec.pgroup() : "") + ")";
        synchronized (lock) {
            reset(need);
            long pa = put(path, 0, path.length);
            long av = putVector(argv);
            long ev = putVector(envp);
            long kp = alloc(4 * Math.max(keep.length, 1));
            for (int i = 0; i < keep.length; i++) {
                arena.putInt(kp - arenaBase + 4L * i, keep[i]);
            }
            long ap = alloc(32 * Math.max(acts.size(), 1));
            for (int i = 0; i < acts.size(); i++) {
                long o = ap - arenaBase + 32L * i;
                SpawnSpec.FileAction a = acts.get(i);
                byte[] p = actPaths.get(i);
                long pp = p == null ? 0 : put(p, 0, p.length);
                if (a instanceof SpawnSpec.Dup2 d) {
                    arena.putLong(o, ExecutorCore.ACT_DUP2);
                    arena.putLong(o + 8, d.fd());
                    arena.putLong(o + 16, d.newFd());
                } else if (a instanceof SpawnSpec.Close c) {
                    arena.putLong(o, ExecutorCore.ACT_CLOSE);
                    arena.putLong(o + 8, c.fd());
                } else if (a instanceof SpawnSpec.Open op) {
                    arena.putLong(o, ExecutorCore.ACT_OPEN);
                    arena.putLong(o + 8, op.fd());
                    arena.putLong(o + 16, pp);
                    arena.putLong(o + 24, ((long) op.flags() << 32) | (op.mode() & 0xffffffffL));
                } else {
                    arena.putLong(o, ExecutorCore.ACT_CHDIR);
                    arena.putLong(o + 16, pp);
                }
            }
            long[] ext = core.ext;
            ext[ExecutorCore.SP_PATH] = pa;
            ext[ExecutorCore.SP_ARGV] = av;
            ext[ExecutorCore.SP_ENVP] = ev;
            ext[ExecutorCore.SP_KEEP] = kp;
            ext[ExecutorCore.SP_KEEP_COUNT] = keep.length;
            ext[ExecutorCore.SP_ACTIONS] = ap;
            ext[ExecutorCore.SP_ACTION_COUNT] = acts.size();
            ext[ExecutorCore.SP_FLAGS] = (spec.setsid() ? Linux.POSIX_SPAWN_SETSID : 0)
                    | (spec.pgroup() >= 0 ? Linux.POSIX_SPAWN_SETPGROUP : 0);
            ext[ExecutorCore.SP_PGROUP] = Math.max(spec.pgroup(), 0);
            request(ExecutorCore.OP_SPAWN, 0, 0, 0, 0, 0);
            if (core.err != 0) {
                throw error(call);
            }
            return (int) core.r0;
        }
    }

    private long putVector(List<byte[]> strings) {
        long vec = alloc(8 * (strings.size() + 1));
        for (int i = 0; i < strings.size(); i++) {
            byte[] b = strings.get(i);
            arena.putLong(vec - arenaBase + 8L * i, put(b, 0, b.length));
        }
        arena.putLong(vec - arenaBase + 8L * strings.size(), 0);
        return vec;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Ends the executor: every fd of the private table is closed (close_range(0, ~0U)) and the thread
     * exits. Idempotent. Waits for a call in progress on another thread to finish first.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (inline) {
                closed = true;
                return;
            }
            try {
                request(ExecutorCore.OP_EXIT, 0, 0, 0, 0, 0);
            } catch (IllegalStateException dead) {
                // the executor already died: the kernel dropped its table with it
            }
            closed = true;
        }
        joinQuietly();
    }

    /** Same as {@link #close()}, never throws: for failure paths. */
    public void abort() {
        try {
            close();
        } catch (RuntimeException ignored) {
            closed = true;
        }
    }

    private void joinQuietly() {
        if (thread == null) {
            return;
        }
        Threads.joinUninterruptibly(thread);
    }

    @Override
    public String toString() {
        return "ExecutorTaskTable[task " + pid + ", tid " + tid + ", floor " + floor + (closed ? ", closed" : "") + "]";
    }
}
