package fdrestore.core.runtime;

import fdrestore.api.sys.Errno;
import fdrestore.api.sys.LibC;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.MsgHdr;
import fdrestore.api.sys.Native;
import jnr.ffi.Pointer;

/**
 * The syscalls of one task table, run on its executor thread (or, for the global warm-up only, on the
 * calling thread in the JVM's table). Native-only: primitives, Java arrays, preallocated native memory and
 * pre-bound {@link LibC} stubs. Nothing here allocates objects, concatenates strings, throws, or touches a
 * class that is not loaded by {@link TaskRuntime#warmUp()}.
 *
 * <p>The request is written by the caller into the public-to-package fields below, then handed over by
 * {@link ExecutorTaskTable}; the results come back in {@code r0..r4}, {@code err}, {@code phase},
 * {@code aux0}, {@code aux1}.
 *
 * <p>Why one file of about 800 lines: it is one idea, the executor's side of every op. The ops share the
 * request and result fields, the preallocated scratch memory, {@code moveUp} and {@code fail}; split
 * into classes they would pass those around or reach into each other, and every class an executor
 * touches is one more the warm-up must load before the first unshare. The caller's side is split by
 * purpose ({@link ExecutorTaskTable}, {@link ExecBatch}, {@link Messages}, {@link Sockets},
 * {@link GeneralCalls}, {@link SpawnEncoding}, {@link Failures}).
 */
@NativeOnly
final class ExecutorCore {
    // ---- operations (also the batch op codes)
    static final int OP_OPENAT = 1;       // dirfd, pathAddr, flags, mode
    static final int OP_OPENAT2 = 2;      // dirfd, pathAddr, howAddr
    static final int OP_PIPE = 3;         // flags
    static final int OP_SOCKET = 4;       // domain, type, protocol
    static final int OP_SOCKETPAIR = 5;   // domain, type, protocol
    static final int OP_DUP = 6;          // fd
    static final int OP_CLOSE = 7;        // fd
    static final int OP_PLACE = 8;        // fd, target, cloexec
    static final int OP_LSEEK = 9;        // fd, offset, whence
    static final int OP_FCNTL = 10;       // fd, cmd, arg
    static final int OP_IOCTL = 11;       // fd, request, arg
    static final int OP_IOCTL_PTR = 12;   // fd, request, bufAddr
    static final int OP_WRITE = 13;       // fd, addr, len
    static final int OP_READ = 14;        // fd, addr, len
    static final int OP_FSTAT = 15;       // fd, statAddr
    static final int OP_BIND = 16;        // fd, addr, len
    static final int OP_LISTEN = 17;      // fd, backlog
    static final int OP_CONNECT = 18;     // fd, addr, len
    static final int OP_SETSOCKOPT = 19;  // fd, level, name, addr, len
    static final int OP_GETSOCKOPT = 20;  // fd, level, name, addr, lenAddr
    static final int OP_SENDMSG = 21;     // fd, msghdrAddr, flags
    static final int OP_RECVFDS = 22;     // fd, msghdrAddr, fdsOutAddr, fdsCap
    static final int OP_LISTFDS = 23;     // outAddr, cap
    static final int OP_SPAWN = 24;       // see spawn()
    static final int OP_BATCH = 25;
    static final int OP_CONST = 26;       // value (Batch.fd)
    static final int OP_EXIT = 27;
    static final int OP_SYSCALL = 28;     // nr, a1, a2, a3, a4: a plain result
    static final int OP_SYSCALL_FD = 29;  // nr, a1, a2, a3, a4: the result is a new fd, moved up
    static final int OP_PLACE_ALL = 30;   // arrayAddr of n {src, dst, flags} int triples, n; r1 = failing index
    static final int OP_SECOND = 31;      // the second fd of the pair made by the op just before (batch only)
    static final int OP_ADOPT = 32;       // callerTid, jvmFd: pidfd_open(tid, PIDFD_THREAD) + pidfd_getfd, moved up
    static final int OP_SYSCALL5 = 33;    // nr, a1, a2, a3, a4, ext[0] = a5: a plain result (TaskTable.syscall)

    // ---- which step failed
    static final int PH_MAIN = 0;
    static final int PH_MOVE = 1;         // F_DUPFD_CLOEXEC to the floor; aux0 = the fd being moved
    static final int PH_RLIMIT = 2;       // target beyond the hard limit; aux0 = soft, aux1 = hard
    static final int PH_RLIMIT_SET = 3;   // setrlimit failed; aux0 = soft, aux1 = hard
    static final int PH_OCCUPIED = 4;     // place target is a live fd of the restore; aux0 = target
    static final int PH_GETRLIMIT = 5;
    static final int PH_CLOEXEC = 6;      // close_range(CLOEXEC); aux0 = first, aux1 = last
    static final int PH_KEEP = 7;         // F_SETFD 0 on a keep fd; aux0 = fd
    static final int PH_SPAWN_SETUP = 8;  // posix_spawn attr/file-action setup; aux0 = step
    static final int PH_LIST_OPEN = 9;
    static final int PH_LIST_READ = 10;
    static final int PH_LIST_FULL = 11;
    static final int PH_RECV_FULL = 12;   // more fds than the caller can take (closed); never an error
    static final int PH_ADOPT_PIDFD = 13; // adopt: pidfd_open of the calling thread failed; aux0 = its tid
    static final int PH_INTERNAL = 99;    // an unexpected Throwable on the executor

    // ---- spawn argument slots in ext[]
    static final int SP_PATH = 0;
    static final int SP_ARGV = 1;
    static final int SP_ENVP = 2;
    static final int SP_KEEP = 3;        // address of sorted unique int[]
    static final int SP_KEEP_COUNT = 4;
    static final int SP_ACTIONS = 5;     // address of action records, 4 longs each: kind, a, b/pathAddr, flags<<32|mode
    static final int SP_ACTION_COUNT = 6;
    static final int SP_FLAGS = 7;
    static final int SP_PGROUP = 8;
    static final int SP_EXTRA = 9;
    static final int ACT_DUP2 = 1;
    static final int ACT_CLOSE = 2;
    static final int ACT_OPEN = 3;
    static final int ACT_CHDIR = 4;

    static final int BATCH_STRIDE = 8;   // op, a0..a4, refMask, created
    static final int MAX_INHERITED = 65536;

    private final LibC c;
    private final jnr.ffi.Runtime rt;
    final int floor;
    /** Set by the executor after unshare(CLONE_FILES): only then may EXIT close the whole table. */
    boolean privateTable;

    // request
    int op;
    long a0;
    long a1;
    long a2;
    long a3;
    long a4;
    final long[] ext = new long[SP_EXTRA];
    long[] bops;
    long[] bres;
    int bcount;

    // results
    long r0;
    long r1;
    long r2;
    long r3;
    long r4;
    int err;
    int phase;
    long aux0;
    long aux1;
    int failIndex;
    /** Every op this core has run (bit {@code 1 << op}), batch rows included: the warm-up's coverage. */
    long opsRun;

    // fds the JVM had open when the table was copied (may be overwritten by place())
    final long[] inherited = new long[MAX_INHERITED / 64];

    // preallocated native memory (kept reachable here)
    private final Pointer scratch;      // ints, rlimits, pid
    private final Pointer procFd;       // "/proc/thread-self/fd"
    private final Pointer dents;
    private final Pointer spawnAttr;
    private final Pointer spawnActions;
    private final Pointer sigEmpty;
    private final Pointer sigDefault;
    private static final int DENTS_SIZE = 8192;

    ExecutorCore(int floor) {
        this.c = Native.libc();
        this.rt = Native.runtime();
        this.floor = floor;
        this.scratch = Native.allocate(64);
        this.procFd = Native.allocateString("/proc/thread-self/fd");
        this.dents = Native.allocate(DENTS_SIZE);
        this.spawnAttr = Native.allocate(1024);
        this.spawnActions = Native.allocate(1024);
        this.sigEmpty = Native.allocate(Linux.SIGSET_T_SIZE);
        this.sigDefault = Native.allocate(Linux.SIGSET_T_SIZE);
        long def = 0;
        for (int sig = 1; sig <= 31; sig++) {
            if (sig != Linux.SIGKILL && sig != Linux.SIGSTOP) {
                def |= 1L << (sig - 1);
            }
        }
        sigDefault.putLong(0, def);
    }

    private int errno() {
        return rt.getLastError();
    }

    private boolean fail(int e, int ph, long x0, long x1) {
        err = e;
        phase = ph;
        aux0 = x0;
        aux1 = x1;
        return false;
    }

    private void clearResult() {
        r0 = 0;
        r1 = 0;
        r2 = 0;
        r3 = 0;
        r4 = 0;
        err = 0;
        phase = PH_MAIN;
        aux0 = 0;
        aux1 = 0;
        failIndex = -1;
    }

    /** Runs the current request. Returns false to ask the loop to exit. */
    boolean dispatch() {
        clearResult();
        int o = op;
        opsRun |= 1L << o;
        try {
            if (o == OP_BATCH) {
                runBatch();
            } else if (o == OP_EXIT) {
                if (privateTable) {
                    c.syscall(Linux.SYS_CLOSE_RANGE, 0L, 0xffffffffL, 0L);
                }
                return false;
            } else if (exec(o, a0, a1, a2, a3, a4)) {
                r0 = res;
            }
        } catch (Throwable t) {
            fail(-1, PH_INTERNAL, 0, 0);
        }
        return true;
    }

    /** The result of the last exec. */
    private long res;

    private boolean exec(int o, long x0, long x1, long x2, long x3, long x4) {
        res = 0;
        switch (o) {
            case OP_CONST:
                res = x0;
                return true;
            case OP_SECOND:
                res = r1;
                return true;
            case OP_OPENAT: {
                int fd = c.openat((int) x0, x1, (int) x2 | Linux.O_CLOEXEC, (int) x3);
                if (fd < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return moveUp(fd);
            }
            case OP_SYSCALL: {
                long r = c.syscall(x0, x1, x2, x3, x4);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_SYSCALL5: {
                long r = c.syscall(x0, x1, x2, x3, x4, ext[0]);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_ADOPT:
                return adopt((int) x0, (int) x1);
            case OP_SYSCALL_FD: {
                long fd = c.syscall(x0, x1, x2, x3, x4);
                if (fd < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return moveUp((int) fd);
            }
            case OP_OPENAT2: {
                long fd = c.syscall(Linux.SYS_OPENAT2, x0, x1, x2, Linux.OPEN_HOW_SIZE);
                if (fd < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return moveUp((int) fd);
            }
            case OP_PIPE:
                if (c.pipe2(scratch.address(), (int) x0 | Linux.O_CLOEXEC) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return movePair();
            case OP_SOCKET: {
                int fd = c.socket((int) x0, (int) x1 | Linux.SOCK_CLOEXEC, (int) x2);
                if (fd < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return moveUp(fd);
            }
            case OP_SOCKETPAIR:
                if (c.socketpair((int) x0, (int) x1 | Linux.SOCK_CLOEXEC, (int) x2, scratch.address()) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return movePair();
            case OP_DUP: {
                int fd = c.fcntl((int) x0, Linux.F_DUPFD_CLOEXEC, floor);
                if (fd < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = fd;
                return true;
            }
            case OP_CLOSE:
                if (c.close((int) x0) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                clearInherited((int) x0);
                return true;
            case OP_PLACE:
                return place((int) x0, (int) x1, x2 != 0);
            case OP_PLACE_ALL:
                return placeAll(x0, (int) x1);
            case OP_LSEEK: {
                long r = c.lseek((int) x0, x1, (int) x2);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_FCNTL: {
                int cmd = (int) x1;
                if (cmd == Linux.F_DUPFD || cmd == Linux.F_DUPFD_CLOEXEC) {
                    int fd = c.fcntl((int) x0, Linux.F_DUPFD_CLOEXEC, x2 < floor ? floor : x2);
                    if (fd < 0) {
                        return fail(errno(), PH_MAIN, 0, 0);
                    }
                    res = fd;
                    return true;
                }
                int r = c.fcntl((int) x0, cmd, x2);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_IOCTL: {
                if (x1 == Linux.TIOCGPTPEER) {
                    // No O_CLOEXEC here: the ioctl keeps it in the file's flags (fdinfo would show it for
                    // good); moveUp gives the copy FD_CLOEXEC, and no exec runs in this table meanwhile.
                    int fd = c.ioctl((int) x0, x1, x2);
                    if (fd < 0) {
                        return fail(errno(), PH_MAIN, 0, 0);
                    }
                    return moveUp(fd);
                }
                int r = c.ioctl((int) x0, x1, x2);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_IOCTL_PTR: {
                int r = c.ioctl((int) x0, x1, x2);
                if (r < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                res = r;
                return true;
            }
            case OP_WRITE:
            case OP_READ: {
                long n = o == OP_WRITE ? c.write((int) x0, x1, x2) : c.read((int) x0, x1, x2);
                if (n < 0) {
                    int e = errno();
                    if (e == Errno.EAGAIN) {
                        res = -1;
                        return true;
                    }
                    return fail(e, PH_MAIN, 0, 0);
                }
                res = n;
                return true;
            }
            case OP_FSTAT:
                if (c.fstat((int) x0, x1) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return true;
            case OP_BIND:
                if (c.bind((int) x0, x1, (int) x2) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return true;
            case OP_LISTEN:
                if (c.listen((int) x0, (int) x1) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return true;
            case OP_CONNECT:
                if (c.connect((int) x0, x1, (int) x2) < 0) {
                    int e = errno();
                    if (e == Errno.EINPROGRESS || e == Errno.EAGAIN) {
                        res = -1;   // TaskTable.AGAIN: in progress
                        return true;
                    }
                    return fail(e, PH_MAIN, 0, 0);
                }
                res = 0;
                return true;
            case OP_SETSOCKOPT:
                if (c.setsockopt((int) x0, (int) x1, (int) x2, x3, (int) x4) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return true;
            case OP_GETSOCKOPT:
                if (c.getsockopt((int) x0, (int) x1, (int) x2, x3, x4) < 0) {
                    return fail(errno(), PH_MAIN, 0, 0);
                }
                return true;
            case OP_SENDMSG: {
                long n = c.sendmsg((int) x0, x1, (int) x2);
                if (n < 0) {
                    int e = errno();
                    if (e == Errno.EAGAIN) {
                        res = -1;
                        return true;
                    }
                    return fail(e, PH_MAIN, 0, 0);
                }
                res = n;
                return true;
            }
            case OP_RECVFDS:
                return recvFds((int) x0, x1, x2, (int) x3);
            case OP_LISTFDS:
                return listFds(x0, (int) x1, false);
            case OP_SPAWN:
                return spawn();
            default:
                return fail(Errno.EINVAL, PH_INTERNAL, o, 0);
        }
    }

    /** PIDFD_THREAD (= O_EXCL): a pidfd of one thread, whose own fd table pidfd_getfd reads. */
    static final long PIDFD_THREAD = 0200;

    /**
     * Copies fd {@code jvmFd} of the table of thread {@code tid} (the caller, waiting in the JVM's table)
     * into this one: a pidfd of that thread, pidfd_getfd (O_CLOEXEC), the pidfd closed, the copy moved up.
     * The pidfd lives only inside this op. phase PH_ADOPT_PIDFD when the pidfd cannot be made.
     */
    private boolean adopt(int tid, int jvmFd) {
        long pidfd = c.syscall(Linux.SYS_PIDFD_OPEN, tid, PIDFD_THREAD);
        if (pidfd < 0) {
            return fail(errno(), PH_ADOPT_PIDFD, tid, 0);
        }
        long fd = c.syscall(Linux.SYS_PIDFD_GETFD, pidfd, jvmFd, 0L);
        int e = fd < 0 ? errno() : 0;
        c.close((int) pidfd);
        if (fd < 0) {
            return fail(e, PH_MAIN, 0, 0);
        }
        return moveUp((int) fd);
    }

    /** Moves a freshly created fd to >= floor (closing the original); res = the new fd. */
    private boolean moveUp(int fd) {
        if (fd >= floor) {
            res = fd;
            return true;
        }
        int nfd = c.fcntl(fd, Linux.F_DUPFD_CLOEXEC, floor);
        if (nfd < 0) {
            int e = errno();
            c.close(fd);
            return fail(e, PH_MOVE, fd, 0);
        }
        c.close(fd);
        res = nfd;
        return true;
    }

    /** Moves the two fds in scratch[0..8) up; res = first, r1 = second. */
    private boolean movePair() {
        int fd0 = scratch.getInt(0);
        int fd1 = scratch.getInt(4);
        if (!moveUp(fd0)) {
            c.close(fd1);
            return false;
        }
        long first = res;
        if (!moveUp(fd1)) {
            c.close((int) first);
            return false;
        }
        r1 = res;
        res = first;
        return true;
    }

    private boolean isInherited(int fd) {
        return fd >= 0 && fd < MAX_INHERITED && (inherited[fd >>> 6] & (1L << (fd & 63))) != 0;
    }

    private void clearInherited(int fd) {
        if (fd >= 0 && fd < MAX_INHERITED) {
            inherited[fd >>> 6] &= ~(1L << (fd & 63));
        }
    }

    /** RLIMIT_NOFILE as read by {@link #readLimit()} and raised by {@link #placeOne}. */
    private long softLimit;
    private long hardLimit;

    private boolean readLimit() {
        long rl = scratch.address() + 16;
        if (c.getrlimit(Linux.RLIMIT_NOFILE, rl) < 0) {
            return fail(errno(), PH_GETRLIMIT, 0, 0);
        }
        softLimit = scratch.getLong(16);
        hardLimit = scratch.getLong(24);
        return true;
    }

    /**
     * Puts a copy of src on dst (FD_CLOEXEC when flags bit 0 is set), then close(src) unless bit 1 ("keep
     * the source") is set; refuses a target the restore already holds, and raises RLIMIT_NOFILE's soft limit
     * (toward the hard one) for a target beyond it. {@link #readLimit()} must have run.
     */
    private boolean placeOne(int src, int dst, int flags) {
        if (dst < 0 || src == dst) {
            return fail(Errno.EINVAL, PH_MAIN, 0, 0);
        }
        if (Long.compareUnsigned(dst, softLimit) >= 0) {
            if (Long.compareUnsigned(dst, hardLimit) >= 0) {
                return fail(Errno.EMFILE, PH_RLIMIT, softLimit, hardLimit);
            }
            long want = Math.max((long) dst + 1, softLimit * 2);
            if (Long.compareUnsigned(want, hardLimit) > 0) {
                want = hardLimit;
            }
            scratch.putLong(16, want);
            scratch.putLong(24, hardLimit);
            if (c.setrlimit(Linux.RLIMIT_NOFILE, scratch.address() + 16) < 0) {
                return fail(errno(), PH_RLIMIT_SET, softLimit, hardLimit);
            }
            softLimit = want;
        }
        if (isInherited(dst)) {
            // a copy of one of the JVM's fds, made by unshare: ours to replace
            if (c.dup3(src, dst, (flags & 1) != 0 ? Linux.O_CLOEXEC : 0) < 0) {
                return fail(errno(), PH_MAIN, 0, 0);
            }
            clearInherited(dst);
        } else {
            // F_DUPFD takes the lowest free number from dst up: dst itself when it is free, so the check
            // that nothing of the restore sits there and the placement are one call, and a live fd can
            // never be replaced (dup3 would close it without a word).
            int got = c.fcntl(src, (flags & 1) != 0 ? Linux.F_DUPFD_CLOEXEC : Linux.F_DUPFD, dst);
            if (got < 0) {
                return fail(errno(), PH_MAIN, 0, 0);
            }
            if (got != dst) {
                c.close(got);
                return fail(Errno.EBUSY, PH_OCCUPIED, dst, 0);
            }
        }
        if ((flags & 2) == 0) {
            c.close(src);
        }
        return true;
    }

    private boolean place(int fd, int target, boolean cloexec) {
        if (!readLimit() || !placeOne(fd, target, cloexec ? 1 : 0)) {
            return false;
        }
        res = target;
        return true;
    }

    /**
     * Several placements in one go: for each {src, dst, flags} triple, {@link #placeOne}, with the limit
     * read once. On failure r1 is the index.
     */
    private boolean placeAll(long arr, int n) {
        if (!readLimit()) {
            return false;
        }
        long base = arr - viewBase;
        for (int i = 0; i < n; i++) {
            r1 = i;
            if (!placeOne(view.getInt(base + 12L * i), view.getInt(base + 12L * i + 4), view.getInt(base + 12L * i + 8))) {
                return false;
            }
        }
        res = n;
        return true;
    }

    /**
     * recvmsg with MSG_DONTWAIT|MSG_CMSG_CLOEXEC. res = payload bytes (-1 on EAGAIN), r1 = fds planted in
     * fdsOut, r2 = sender pid (-1 unknown), r3 = sender uid, r4 = 1 when truncated.
     */
    private boolean recvFds(int sock, long msg, long fdsOut, int cap) {
        Pointer m = view;
        long n = c.recvmsg(sock, msg, Linux.MSG_DONTWAIT | Linux.MSG_CMSG_CLOEXEC);
        if (n < 0) {
            int e = errno();
            if (e == Errno.EAGAIN) {
                res = -1;
                return true;
            }
            return fail(e, PH_MAIN, 0, 0);
        }
        long mo = msg - viewBase;
        boolean trunc = (MsgHdr.flags(m, mo) & (Linux.MSG_TRUNC | Linux.MSG_CTRUNC)) != 0;
        long pid = -1;
        long uid = -1;
        int planted = 0;
        int firstErr = 0;
        for (long cm = MsgHdr.firstCmsg(m, mo); cm >= 0; cm = MsgHdr.nextCmsg(m, mo, cm)) {
            long data = MsgHdr.data(cm);
            if (MsgHdr.isRights(m, cm)) {
                int count = MsgHdr.intCount(m, cm);
                for (int i = 0; i < count; i++) {
                    int fd = m.getInt(data + 4L * i);
                    if (firstErr != 0 || planted >= cap) {
                        c.close(fd);
                        trunc = true;
                        continue;
                    }
                    if (!moveUp(fd)) {   // moveUp closed fd
                        firstErr = err;
                        continue;
                    }
                    m.putInt(fdsOut - viewBase + 4L * planted, (int) res);
                    planted++;
                }
            } else if (MsgHdr.isCredentials(m, cm)) {
                pid = m.getInt(data) & 0xffffffffL;
                uid = m.getInt(data + 4) & 0xffffffffL;
            }
        }
        if (firstErr != 0) {
            for (int i = 0; i < planted; i++) {
                c.close(m.getInt(fdsOut - viewBase + 4L * i));
            }
            int ph = phase;
            long x = aux0;
            return fail(firstErr, ph, x, 0);
        }
        res = n;
        r1 = planted;
        r2 = pid;
        r3 = uid;
        r4 = trunc ? 1 : 0;
        return true;
    }

    // The caller's arena, seen as one Pointer: addresses passed in requests are inside it.
    private Pointer view;
    private long viewBase;

    /** Sets the arena that request addresses point into (caller side, before the hand-off). */
    void setArena(Pointer arena) {
        view = arena;
        viewBase = arena.address();
    }

    /**
     * Lists this table's fds into the int array at {@code out} (capacity {@code cap}); res = count. With
     * {@code intoInherited}, records them in {@link #inherited} instead.
     */
    private boolean listFds(long out, int cap, boolean intoInherited) {
        int dir = c.openat(Linux.AT_FDCWD, procFd.address(), Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        if (dir < 0) {
            return fail(errno(), PH_LIST_OPEN, 0, 0);
        }
        int count = 0;
        for (;;) {
            long got = c.syscall(Linux.SYS_GETDENTS64, dir, dents.address(), DENTS_SIZE);
            if (got < 0) {
                int e = errno();
                c.close(dir);
                return fail(e, PH_LIST_READ, 0, 0);
            }
            if (got == 0) {
                break;
            }
            long off = 0;
            while (off < got) {
                int reclen = dents.getShort(off + Linux.DIRENT64_OFF_D_RECLEN) & 0xffff;
                int fd = parseName(off + Linux.DIRENT64_OFF_D_NAME);
                if (fd >= 0 && fd != dir) {
                    if (intoInherited) {
                        if (fd < MAX_INHERITED) {
                            inherited[fd >>> 6] |= 1L << (fd & 63);
                        }
                    } else {
                        if (count >= cap) {
                            c.close(dir);
                            return fail(Errno.ERANGE, PH_LIST_FULL, cap, 0);
                        }
                        view.putInt(out - viewBase + 4L * count, fd);
                    }
                    count++;
                }
                off += reclen;
            }
        }
        c.close(dir);
        res = count;
        return true;
    }

    private int parseName(long off) {
        int v = 0;
        int i = 0;
        for (;; i++) {
            byte b = dents.getByte(off + i);
            if (b == 0) {
                break;
            }
            if (b < '0' || b > '9') {
                return -1;
            }
            v = v * 10 + (b - '0');
        }
        return i == 0 ? -1 : v;
    }

    /** On the executor right after unshare: remembers the JVM's fds copied into the table. */
    boolean recordInherited() {
        clearResult();
        return listFds(0, 0, true);
    }

    private boolean spawn() {
        long keep = ext[SP_KEEP];
        int keepCount = (int) ext[SP_KEEP_COUNT];
        long start = 0;
        for (int i = 0; i < keepCount; i++) {
            long k = view.getInt(keep - viewBase + 4L * i) & 0xffffffffL;
            if (k > start) {
                if (c.syscall(Linux.SYS_CLOSE_RANGE, start, k - 1, Linux.CLOSE_RANGE_CLOEXEC) < 0) {
                    return fail(errno(), PH_CLOEXEC, start, k - 1);
                }
            }
            start = k + 1;
        }
        if (start <= 0xffffffffL
                && c.syscall(Linux.SYS_CLOSE_RANGE, start, 0xffffffffL, Linux.CLOSE_RANGE_CLOEXEC) < 0) {
            return fail(errno(), PH_CLOEXEC, start, 0xffffffffL);
        }
        for (int i = 0; i < keepCount; i++) {
            int k = view.getInt(keep - viewBase + 4L * i);
            if (c.fcntl(k, Linux.F_SETFD, 0) < 0) {
                return fail(errno(), PH_KEEP, k, 0);
            }
        }
        long fa = spawnActions.address();
        long attr = spawnAttr.address();
        int rc = c.posix_spawn_file_actions_init(fa);
        if (rc != 0) {
            return fail(rc, PH_SPAWN_SETUP, 0, 0);
        }
        rc = c.posix_spawnattr_init(attr);
        if (rc != 0) {
            c.posix_spawn_file_actions_destroy(fa);
            return fail(rc, PH_SPAWN_SETUP, 1, 0);
        }
        boolean ok = spawnSetup(fa, attr);
        if (ok) {
            rc = c.posix_spawn(scratch.address() + 32, ext[SP_PATH], fa, attr, ext[SP_ARGV], ext[SP_ENVP]);
            if (rc != 0) {
                ok = fail(rc, PH_MAIN, 0, 0);
            } else {
                res = scratch.getInt(32);
            }
        }
        c.posix_spawnattr_destroy(attr);
        c.posix_spawn_file_actions_destroy(fa);
        return ok;
    }

    private boolean spawnSetup(long fa, long attr) {
        long acts = ext[SP_ACTIONS];
        int n = (int) ext[SP_ACTION_COUNT];
        for (int i = 0; i < n; i++) {
            long rec = acts - viewBase + 32L * i;
            int kind = (int) view.getLong(rec);
            long a = view.getLong(rec + 8);
            long b = view.getLong(rec + 16);
            long fm = view.getLong(rec + 24);
            int rc;
            if (kind == ACT_DUP2) {
                rc = c.posix_spawn_file_actions_adddup2(fa, (int) a, (int) b);
            } else if (kind == ACT_CLOSE) {
                rc = c.posix_spawn_file_actions_addclose(fa, (int) a);
            } else if (kind == ACT_OPEN) {
                rc = c.posix_spawn_file_actions_addopen(fa, (int) a, b, (int) (fm >>> 32), (int) fm);
            } else {
                rc = c.posix_spawn_file_actions_addchdir_np(fa, b);
            }
            if (rc != 0) {
                return fail(rc, PH_SPAWN_SETUP, 10 + i, 0);
            }
        }
        int flags = (int) ext[SP_FLAGS] | Linux.POSIX_SPAWN_SETSIGMASK | Linux.POSIX_SPAWN_SETSIGDEF;
        int rc = c.posix_spawnattr_setflags(attr, (short) flags);
        if (rc != 0) {
            return fail(rc, PH_SPAWN_SETUP, 2, 0);
        }
        rc = c.posix_spawnattr_setsigmask(attr, sigEmpty.address());
        if (rc != 0) {
            return fail(rc, PH_SPAWN_SETUP, 3, 0);
        }
        rc = c.posix_spawnattr_setsigdefault(attr, sigDefault.address());
        if (rc != 0) {
            return fail(rc, PH_SPAWN_SETUP, 4, 0);
        }
        if ((flags & Linux.POSIX_SPAWN_SETPGROUP) != 0) {
            rc = c.posix_spawnattr_setpgroup(attr, (int) ext[SP_PGROUP]);
            if (rc != 0) {
                return fail(rc, PH_SPAWN_SETUP, 5, 0);
            }
        }
        return true;
    }

    private static boolean createsFd(int o, long x1) {
        return o == OP_OPENAT || o == OP_OPENAT2 || o == OP_DUP || o == OP_PIPE || o == OP_SOCKETPAIR || o == OP_SECOND
                || o == OP_SOCKET
                || (o == OP_FCNTL && (x1 == Linux.F_DUPFD || x1 == Linux.F_DUPFD_CLOEXEC))
                || (o == OP_IOCTL && x1 == Linux.TIOCGPTPEER);
    }

    private void runBatch() {
        long[] ops = bops;
        long[] out = bres;
        int n = bcount;
        for (int i = 0; i < n; i++) {
            int base = i * BATCH_STRIDE;
            int o = (int) ops[base];
            long mask = ops[base + 6];
            long x0 = (mask & 1) != 0 ? out[(int) ops[base + 1]] : ops[base + 1];
            long x1 = (mask & 2) != 0 ? out[(int) ops[base + 2]] : ops[base + 2];
            long x2 = (mask & 4) != 0 ? out[(int) ops[base + 3]] : ops[base + 3];
            long x3 = ops[base + 4];
            long x4 = ops[base + 5];
            ops[base + 7] = 0;
            opsRun |= 1L << o;
            if (!exec(o, x0, x1, x2, x3, x4)) {
                failIndex = i;
                for (int j = 0; j < i; j++) {
                    if (ops[j * BATCH_STRIDE + 7] != 0) {
                        c.close((int) out[j]);
                        ops[j * BATCH_STRIDE + 7] = 0;
                    }
                }
                return;
            }
            out[i] = res;
            if (createsFd(o, x1)) {
                ops[base + 7] = 1;
            } else if (o == OP_CLOSE) {
                for (int j = 0; j < i; j++) {
                    if (ops[j * BATCH_STRIDE + 7] != 0 && out[j] == x0) {
                        ops[j * BATCH_STRIDE + 7] = 0;
                    }
                }
            }
        }
        r0 = n;
    }
}
