package fdrestore.core.runtime;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable.Stat;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@link Batch} of an {@link ExecutorTaskTable}: calls are recorded as rows of {@code BATCH_STRIDE}
 * longs (op, five arguments, which arguments are results of earlier rows, whether the row made an fd),
 * their paths and buffers copied into the arena at {@link #run()}, and the whole batch goes to the
 * executor in one request. On a failure the executor closes the fds the rows before it made.
 */
final class ExecBatch implements Batch {
    private final ExecutorTaskTable table;
    private long[] ops = new long[ExecutorCore.BATCH_STRIDE * 8];
    private final List<String> paths = new ArrayList<>();
    private final List<long[]> hows = new ArrayList<>();
    private int count;
    private long[] results;
    private boolean ran;

    ExecBatch(ExecutorTaskTable table) {
        this.table = table;
    }

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

        /** "fd N" for an fd given to the batch ({@link #fd}), else which op's result it is. */
        @Override
        public String toString() {
            int base = index * ExecutorCore.BATCH_STRIDE;
            return ops[base] == ExecutorCore.OP_CONST ? "fd " + ops[base + 1] : "<result of op #" + index + ">";
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
        Linux.refuseCreate("open", path, flags);
        Native.cString(path);
        return add(ExecutorCore.OP_OPENAT, Linux.AT_FDCWD, 0, flags, mode, 0, 0, path, null);
    }

    @Override
    public Ref openAt2(int dirFd, String path, int flags, int mode, long resolve) {
        Linux.refuseCreate("openat2", path, flags);
        Native.cString(path);
        return add(ExecutorCore.OP_OPENAT2, dirFd, 0, 0, 0, 0, 0, path, new long[] {flags, mode, resolve});
    }

    @Override
    public Ref openAt2(Ref dirFd, String path, int flags, int mode, long resolve) {
        Linux.refuseCreate("openat2", path, flags);
        Native.cString(path);
        return add(ExecutorCore.OP_OPENAT2, ref(dirFd), 0, 0, 0, 0, 1, path, new long[] {flags, mode, resolve});
    }

    private final List<Integer> statOps = new ArrayList<>();
    private final Map<Integer, Stat> stats = new HashMap<>();

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

    /** A socketpair (both ends moved above the floor, FD_CLOEXEC): not in {@link Batch}, for the core. */
    Ref[] socketpair(int domain, int type, int protocol) {
        R first = add(ExecutorCore.OP_SOCKETPAIR, domain, type, protocol, 0, 0, 0, null, null);
        R second = add(ExecutorCore.OP_SECOND, 0, 0, 0, 0, 0, 0, null, null);
        return new Ref[] {first, second};
    }

    /** Rights to send, by op index: their msghdr is encoded at {@link #run()} (x1 is its address). */
    private final Map<Integer, int[]> rights = new HashMap<>();
    private static final byte[] ONE_BYTE = {0};

    /**
     * sendmsg(MSG_DONTWAIT|MSG_NOSIGNAL) of one byte with SCM_RIGHTS {@code fds[off, off+n)} on the
     * connected socket {@code sock}; its result is -1 on EAGAIN (not a failure). Not in {@link Batch}.
     */
    Ref sendRights(Ref sock, int[] fds, int off, int n) {
        if (n < 1 || n > Linux.SCM_MAX_FD) {
            throw new IllegalArgumentException("1.." + Linux.SCM_MAX_FD + " fds a message: " + n);
        }
        R r = add(ExecutorCore.OP_SENDMSG, ref(sock), 0, Linux.MSG_DONTWAIT | Linux.MSG_NOSIGNAL, 0, 0, 1, null, null);
        rights.put(r.index, Arrays.copyOfRange(fds, off, off + n));
        return r;
    }

    @Override
    public Ref dup(Ref fd) {
        return add(ExecutorCore.OP_DUP, ref(fd), 0, 0, 0, 0, 1, null, null);
    }

    private final Map<Integer, byte[]> data = new HashMap<>();

    @Override
    public Ref write(Ref fd, byte[] bytes) {
        R r = add(ExecutorCore.OP_WRITE, ref(fd), 0, bytes.length, 0, 0, 1, null, null);
        data.put(r.index, bytes.clone());
        return r;
    }

    /** setsockopt values, by op index: their address goes in x3 (x4 is the length). */
    private final Map<Integer, byte[]> optValues = new HashMap<>();

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
                need += Arena.space(cs[i].length);
            }
            if (hows.get(i) != null) {
                need += Arena.space(Linux.OPEN_HOW_SIZE);
            }
        }
        need += statOps.size() * Arena.space(Linux.STAT_SIZE);
        for (byte[] d : data.values()) {
            need += Arena.space(d.length);
        }
        for (byte[] d : optValues.values()) {
            need += Arena.space(d.length);
        }
        for (int[] f : rights.values()) {
            need += Arena.messageSpace(ONE_BYTE.length, 0, f.length);
        }
        Arena arena = table.arena;
        ExecutorCore core = table.core;
        synchronized (table.lock) {
            arena.reset(need);
            for (int i = 0; i < count; i++) {
                int base = i * ExecutorCore.BATCH_STRIDE;
                if (cs[i] != null) {
                    long pa = arena.put(cs[i], 0, cs[i].length);
                    ops[base + 2] = pa;
                    if (ops[base] == ExecutorCore.OP_OPENAT2) {
                        long[] h = hows.get(i);
                        ops[base + 3] = arena.putHow((int) h[0], (int) h[1], h[2]);
                    }
                }
            }
            for (int i : statOps) {
                ops[i * ExecutorCore.BATCH_STRIDE + 2] = arena.alloc(Linux.STAT_SIZE);
            }
            for (Map.Entry<Integer, byte[]> e : data.entrySet()) {
                byte[] d = e.getValue();
                ops[e.getKey() * ExecutorCore.BATCH_STRIDE + 2] = arena.put(d, 0, d.length);
            }
            for (Map.Entry<Integer, byte[]> e : optValues.entrySet()) {
                byte[] d = e.getValue();
                ops[e.getKey() * ExecutorCore.BATCH_STRIDE + 4] = arena.put(d, 0, d.length);
            }
            for (Map.Entry<Integer, int[]> e : rights.entrySet()) {
                int[] f = e.getValue();
                ops[e.getKey() * ExecutorCore.BATCH_STRIDE + 2] = arena.putMessage(ONE_BYTE, 0, ONE_BYTE.length, null, f,
                        f.length);
            }
            core.bops = ops;
            core.bres = res;
            core.bcount = count;
            try {
                table.call(ExecutorCore.OP_BATCH, 0, 0, 0, 0, 0, res, (c, a, r) -> failed(c.failIndex, (long[]) r));
            } finally {
                core.bops = null;
                core.bres = null;
            }
            for (int i : statOps) {
                FileStat f = FileStat.read(arena.memory(), arena.offset(ops[i * ExecutorCore.BATCH_STRIDE + 2]));
                stats.put(i, new Stat(f.mode(), f.size(), f.dev(), f.ino(), f.rdev()));
            }
            results = res;
        }
    }

    /** Notes which call failed and names it. */
    private String failed(int i, long[] res) {
        failed = i;
        return "batch op #" + i + " of " + count + ": " + describe(i, res);
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
