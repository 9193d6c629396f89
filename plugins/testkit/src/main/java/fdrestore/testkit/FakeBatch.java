package fdrestore.testkit;

import fdrestore.api.spi.Batch;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;

/** A batch on a {@link FakeTaskTable}: runs the calls in order and closes what it created on failure. */
final class FakeBatch implements Batch {
    private final FakeTaskTable table;
    private final List<Op> ops = new ArrayList<>();
    private boolean ran;

    private interface Call {
        long run() throws SysException;
    }

    private static final class Op implements Ref {
        final Call call;
        final boolean createsFd;
        long result = -1;
        boolean done;

        Op(Call call, boolean createsFd) {
            this.call = call;
            this.createsFd = createsFd;
        }

        @Override
        public long get() {
            if (!done) {
                throw new IllegalStateException("the batch has not run this call");
            }
            return result;
        }
    }

    FakeBatch(FakeTaskTable table) {
        this.table = table;
    }

    private Ref add(Call c, boolean createsFd) {
        Op op = new Op(c, createsFd);
        ops.add(op);
        return op;
    }

    private static int fd(Ref r) {
        return (int) r.get();
    }

    @Override
    public Ref open(String path, int flags, int mode) {
        Linux.refuseCreate("open", path, flags); // when added, as the real batch does
        return add(() -> table.open(path, flags, mode), true);
    }

    @Override
    public Ref openAt2(int dirFd, String path, int flags, int mode, long resolve) {
        Linux.refuseCreate("openat2", path, flags);
        return add(() -> table.openAt2(dirFd, path, flags, mode, resolve), true);
    }

    @Override
    public Ref openAt2(Ref dirFd, String path, int flags, int mode, long resolve) {
        Linux.refuseCreate("openat2", path, flags);
        return add(() -> table.openAt2(fd(dirFd), path, flags, mode, resolve), true);
    }

    @Override
    public StatRef fstat(Ref fd) {
        fdrestore.api.spi.TaskTable.Stat[] holder = new fdrestore.api.spi.TaskTable.Stat[1];
        Ref r = add(() -> {
            holder[0] = table.fstat(fd(fd));
            return 0;
        }, false);
        return new StatRef() {
            @Override
            public long get() {
                return r.get();
            }

            @Override
            public fdrestore.api.spi.TaskTable.Stat stat() {
                r.get();
                return holder[0];
            }
        };
    }

    @Override
    public Ref[] pipe(int flags) {
        int[] pair = new int[2];
        Ref read = add(() -> {
            int[] p = table.pipe(flags);
            pair[0] = p[0];
            pair[1] = p[1];
            return p[0];
        }, true);
        Ref write = add(() -> pair[1], true);
        return new Ref[] {read, write};
    }

    @Override
    public Ref dup(Ref fd) {
        return add(() -> table.dup(fd(fd)), true);
    }

    @Override
    public Ref write(Ref fd, byte[] data) {
        byte[] copy = data.clone();
        return add(() -> table.write(fd(fd), copy, 0, copy.length), false);
    }

    @Override
    public Ref socket(int domain, int type, int protocol) {
        return add(() -> table.socket(domain, type, protocol), true);
    }

    @Override
    public Ref setsockopt(Ref fd, int level, int name, byte[] value) {
        byte[] copy = value.clone();
        return add(() -> {
            table.setsockopt(fd(fd), level, name, copy);
            return 0;
        }, false);
    }

    @Override
    public Ref bind(Ref fd, byte[] sockaddr) {
        byte[] copy = sockaddr.clone();
        return add(() -> {
            table.bind(fd(fd), copy);
            return 0;
        }, false);
    }

    @Override
    public Ref lseek(Ref fd, long offset, int whence) {
        return add(() -> table.lseek(fd(fd), offset, whence), false);
    }

    @Override
    public Ref fcntl(Ref fd, int cmd, long arg) {
        return add(() -> table.fcntl(fd(fd), cmd, arg),
                cmd == fdrestore.api.sys.Linux.F_DUPFD || cmd == fdrestore.api.sys.Linux.F_DUPFD_CLOEXEC);
    }

    @Override
    public Ref ioctl(Ref fd, long request, long arg) {
        return add(() -> table.ioctl(fd(fd), request, arg), false);
    }

    @Override
    public Ref close(Ref fd) {
        return add(() -> {
            table.close(fd(fd));
            return 0;
        }, false);
    }

    @Override
    public Ref fd(int fd) {
        Op op = new Op(() -> fd, false);
        op.result = fd;
        op.done = true;
        return op;
    }

    @Override
    public void run() throws SysException {
        if (ran) {
            throw new IllegalStateException("a batch runs once");
        }
        ran = true;
        List<Integer> created = new ArrayList<>();
        for (Op op : ops) {
            failed++;
            try {
                op.result = op.call.run();
                op.done = true;
                if (op.createsFd) {
                    created.add((int) op.result);
                }
            } catch (SysException e) {
                for (int fd : created) {
                    if (table.openFds().contains(fd)) {
                        try {
                            table.close(fd);
                        } catch (SysException ignored) {
                            e.addSuppressed(ignored);
                        }
                    }
                }
                throw e;
            }
        }
        failed = -1;
    }

    /** During a run, the position of the call running; after it, -1 or the one that failed. */
    private int failed = -1;

    @Override
    public int size() {
        return ops.size();
    }

    @Override
    public int failedCall() {
        return failed;
    }
}
