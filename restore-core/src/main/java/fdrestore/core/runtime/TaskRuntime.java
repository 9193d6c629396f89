package fdrestore.core.runtime;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Starts the per-task executors ({@link ExecutorTaskTable}): one thread per task, each with a private fd
 * table from unshare(CLONE_FILES). Before the first executor starts, {@link #warmUp()} runs every
 * operation once on this thread in the JVM's own table (on /dev/null, a pipe and sockets), including the
 * error paths, and then once through a throwaway executor, so that every class and jnr stub an executor
 * uses is loaded and linked before any table holds a restored fd.
 *
 * <p>A runtime instance keeps the tables it started; {@link #close()} ends all of them.
 */
public final class TaskRuntime implements AutoCloseable {
    private static final Object WARM_LOCK = new Object();
    private static volatile boolean warmed;
    /** Set by the first {@link #warmUpInBackground}: later calls start no second thread. */
    private static final java.util.concurrent.atomic.AtomicBoolean WARMING = new java.util.concurrent.atomic.AtomicBoolean();

    private final List<ExecutorTaskTable> tables = new CopyOnWriteArrayList<>();

    /** Starts one task table of this runtime. */
    public ExecutorTaskTable start(int imagePid, int tempFloor) throws SysException {
        ExecutorTaskTable t = startTable(imagePid, tempFloor);
        tables.add(t);
        return t;
    }

    /**
     * Starts one table per task, {@code pids[i]} with temporaries from {@code floors[i]}, in the order
     * given: every executor thread is started first and then each is waited for, so the tables copy and
     * list their fds on the other cores while the next threads start. If one fails, every table started
     * here is aborted and the error names the task.
     */
    public List<ExecutorTaskTable> startAll(int[] pids, int[] floors) throws SysException {
        if (pids.length != floors.length) {
            throw new IllegalArgumentException(pids.length + " pids but " + floors.length + " floors");
        }
        warmUp();
        int max = 3;
        for (int f : floors) {
            max = Math.max(max, f);
        }
        ensureLimit(max + 256L);
        List<ExecutorTaskTable> started = new ArrayList<>(pids.length);
        boolean ok = false;
        try {
            for (int i = 0; i < pids.length; i++) {
                ExecutorTaskTable t = new ExecutorTaskTable(pids[i], floors[i], false);
                t.begin();
                started.add(t);
            }
            for (ExecutorTaskTable t : started) {
                t.awaitStarted();
            }
            tables.addAll(started);
            ok = true;
            return started;
        } finally {
            if (!ok) {
                for (ExecutorTaskTable t : started) {
                    t.abort();
                }
            }
        }
    }

    /** The tables started by this runtime and not closed through it. */
    public List<ExecutorTaskTable> tables() {
        return List.copyOf(tables);
    }

    /** Aborts every table of this runtime (closing every fd in their private tables). */
    @Override
    public void close() {
        for (ExecutorTaskTable t : tables) {
            t.abort();
        }
        tables.clear();
    }

    /**
     * Starts an executor for task {@code imagePid} whose temporary fds live at or above {@code tempFloor}.
     * Raises the RLIMIT_NOFILE soft limit (process-wide) when the floor is too close to it.
     */
    public static ExecutorTaskTable startTable(int imagePid, int tempFloor) throws SysException {
        warmUp();
        ensureLimit(tempFloor + 256L);
        ExecutorTaskTable t = new ExecutorTaskTable(imagePid, tempFloor, false);
        t.start();
        return t;
    }

    /** Raises the RLIMIT_NOFILE soft limit to at least {@code needed} (toward the hard limit). */
    static void ensureLimit(long needed) throws SysException {
        Rlimit l = Sys.getrlimit(Linux.RLIMIT_NOFILE);
        if (Long.compareUnsigned(needed, l.soft()) <= 0) {
            return;
        }
        if (Long.compareUnsigned(needed, l.hard()) > 0) {
            throw new SysException("RLIMIT_NOFILE " + l + " is below the " + needed
                    + " fds the temporary fd floor needs", fdrestore.api.sys.Errno.EMFILE);
        }
        long want = Math.max(needed, l.soft() * 2);
        if (Long.compareUnsigned(want, l.hard()) > 0) {
            want = l.hard();
        }
        Sys.setrlimit(Linux.RLIMIT_NOFILE, new Rlimit(want, l.hard()));
    }

    /**
     * Starts {@link #warmUp()} on a daemon thread and returns at once, so that a command can read and
     * plan its images while the JVM loads the native bindings (about 0.15 s of a cold start). The first
     * {@link #startTable} waits for it; a failure here is ignored, as the warm-up runs again there and
     * reports it. Does nothing once warm or once started.
     */
    public static void warmUpInBackground() {
        if (warmed || !WARMING.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                warmUp();
            } catch (SysException | RuntimeException | LinkageError ignored) {
                // reported by the warm-up the first table start runs; a LinkageError also comes when the
                // command is done before jffi is loaded and the JVM is already exiting (its extraction
                // calls File.deleteOnExit, refused during shutdown): nothing to print then
            }
        }, "fdrestore-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Once per JVM: loads and links everything an executor runs. Idempotent and thread-safe. */
    public static void warmUp() throws SysException {
        if (warmed) {
            return;
        }
        synchronized (WARM_LOCK) {
            if (warmed) {
                return;
            }
            Rlimit l = Sys.getrlimit(Linux.RLIMIT_NOFILE);
            long soft = l.soft() == Linux.RLIM_INFINITY ? 1 << 20 : l.soft();
            int floor = (int) Math.min(512, Math.max(16, soft / 2));
            warmUpInline(floor);
            warmUpExecutor(floor);
            warmed = true;
        }
    }

    /**
     * Every op on this thread, in the JVM's table. Closes everything it opens. Returns the ops it ran
     * (bit {@code 1 << op}; WarmUpTest checks that the two warm-ups together run every op).
     */
    static long warmUpInline(int floor) throws SysException {
        ExecutorTaskTable w = new ExecutorTaskTable(0, floor, true);
        List<Integer> open = new ArrayList<>();
        try {
            int devnull = track(open, w.open("/dev/null", Linux.O_RDWR, 0));
            w.close(untrack(open, w.openAt(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0)));
            try {
                w.close(w.openAt2(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0, Linux.RESOLVE_NO_MAGICLINKS));
            } catch (SysException tolerated) {
                // an old kernel: still warms the path
            }
            try {
                w.open("/nonexistent/fdrestore-warm-up", Linux.O_RDONLY, 0);
            } catch (SysException expected) {
                // the error path
            }
            try {
                w.close(Integer.MAX_VALUE);
            } catch (SysException expected) {
                // EBADF
            }
            int[] p = w.pipe(Linux.O_NONBLOCK);
            track(open, p[0]);
            track(open, p[1]);
            byte[] buf = new byte[16];
            w.write(p[1], buf, 0, 4);
            w.ioctl(p[0], Linux.FIONREAD, new byte[4]);
            w.ioctl(p[0], Linux.FIOCLEX, 0);
            try {
                w.ioctl(p[0], Linux.TIOCGPTPEER, 0);
            } catch (SysException expected) {
                // ENOTTY
            }
            w.read(p[0], buf, 0, buf.length);
            w.read(p[0], buf, 0, buf.length);          // EAGAIN
            w.lseek(devnull, 0, Linux.SEEK_SET);
            w.fcntl(devnull, Linux.F_GETFD, 0);
            w.close((int) w.fcntl(devnull, Linux.F_DUPFD, 0));
            w.close(w.dup(devnull));
            w.fstat(devnull);
            w.fstatFull(p[0]);

            int[] sp = w.socketpair(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0);
            track(open, sp[0]);
            track(open, sp[1]);
            w.setsockopt(sp[1], Linux.SOL_SOCKET, Linux.SO_PASSCRED, Sys.intBytes(1));
            w.getsockopt(sp[1], Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[4]);
            w.sendFds(sp[0], null, buf, 4, new int[] {devnull, p[0]}, 2);
            int[] got = new int[1];
            TaskTable.Received r = w.recvFds(sp[1], buf, got);   // 2 fds, room for 1: truncation path
            if (!r.again()) {
                for (int i = 0; i < r.fdCount(); i++) {
                    w.close(got[i]);
                }
            }
            for (int i = 0; i < 64; i++) {                 // fill the queue: the EAGAIN path
                if (w.sendFds(sp[0], null, buf, 1, new int[0], 0) == TaskTable.AGAIN) {
                    break;
                }
            }
            while (!w.recvFds(sp[1], buf, got).again()) {
                // drain
            }
            String name = "fdrestore-warm-up-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
            int srv = track(open, w.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0));
            w.bind(srv, Sys.unixAbstractAddress(name));
            w.listen(srv, 1);
            int cli = track(open, w.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_NONBLOCK, 0));
            w.connect(cli, Sys.unixAbstractAddress(name));
            try {
                w.connect(track(open, w.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0)),
                        Sys.unixAbstractAddress(name + "-none"));
            } catch (SysException expected) {
                // ECONNREFUSED
            }

            // Generic syscall ops: epoll, timerfd, eventfd, socket names, shutdown, send.
            int ep = track(open, w.epollCreate(0));
            w.epollCtl(ep, 1 /* EPOLL_CTL_ADD */, p[0], 1, 7);
            int tfd = track(open, w.timerfdCreate(1 /* CLOCK_MONOTONIC */, 0));
            w.timerfdSettime(tfd, 0, 100, 0, 0, 0);
            w.timerfdGettime(tfd);
            track(open, w.eventfd(0, 0));
            try {
                w.epollCtl(ep, 1, Integer.MAX_VALUE, 1, 0);
            } catch (SysException expected) {
                // EBADF: the error path
            }
            w.getsockname(sp[0]);
            try {
                w.getpeername(srv);
            } catch (SysException expected) {
                // ENOTCONN
            }
            w.send(sp[0], buf, 0, 1, new int[] {devnull}, 1);
            w.send(sp[0], buf, 0, 1, new int[0], 0);
            for (TaskTable.Received rr; !(rr = w.recvFds(sp[1], buf, got)).again(); ) {
                for (int i = 0; i < rr.fdCount(); i++) {
                    w.close(got[i]);
                }
            }
            w.fcntl(srv, Linux.F_SETFL, Linux.O_NONBLOCK);
            int acc = w.accept(srv, Linux.SOCK_NONBLOCK);       // the pending connection of cli
            if (acc >= 0) {
                w.close(acc);
            }
            w.accept(srv, 0);                                    // empty queue: the EAGAIN path, -1
            w.shutdown(cli, 2);

            int target = freeFd(floor + 100);
            int x = w.dup(devnull);
            w.place(x, target, true);
            track(open, target);
            w.fcntl(target, Linux.F_GETFD, 0);
            int y = track(open, w.dup(devnull));
            try {
                w.place(y, devnull, false);                  // occupied: the error path
            } catch (SysException expected) {
                // EBUSY
            }

            int t2 = freeFd(target + 1);
            int t3 = freeFd(t2 + 1);
            w.placeAll(new int[] {w.dup(devnull), t2}, new int[] {t2, t3},
                    new int[] {TaskTable.PLACE_CLOEXEC, TaskTable.KEEP_SOURCE}, 2);
            track(open, t2);
            track(open, t3);
            int z = track(open, w.dup(devnull));
            try {
                w.placeAll(new int[] {z}, new int[] {devnull}, new int[] {0}, 1);   // occupied: the error path
            } catch (SysException expected) {
                // EBUSY
            }

            Batch b = w.batch();
            Batch.Ref f = b.open("/dev/null", Linux.O_RDONLY, 0);
            b.lseek(f, 0, Linux.SEEK_SET);
            b.fcntl(f, Linux.F_GETFD, 0);
            b.ioctl(f, Linux.FIOCLEX, 0);
            Batch.Ref f2 = b.openAt2(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0, 0);
            b.close(f2);
            b.close(b.fd(-1));
            try {
                b.run();
            } catch (SysException expected) {
                // close(-1) fails: the batch clean-up path closes f
            }
            Batch b2 = w.batch();
            Batch.Ref g = b2.open("/dev/null", Linux.O_RDONLY, 0);
            b2.close(g);
            Batch.Ref[] bp = b2.pipe(0);                        // OP_PIPE + OP_SECOND
            b2.close(bp[0]);
            b2.close(bp[1]);
            b2.run();
            g.get();
            // The SPI's general calls: adopt (pidfd_getfd from the calling thread) and a syscall by name
            // with integer and memory arguments, each with its error path.
            w.close(w.adopt(devnull));
            try {
                w.adopt(freeFd(floor + 200));
            } catch (SysException expected) {
                // EBADF
            }
            byte[] len = Sys.intBytes(4);
            w.syscall("getsockopt", sp[1], Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[4], len);
            try {
                w.syscall("inotify_rm_watch", devnull, 1);
            } catch (SysException expected) {
                // EINVAL
            }
            w.listFds();
            w.inheritedFds();
        } finally {
            for (int fd : open) {
                Sys.closeQuietly(fd);
            }
            w.close();
        }
        return w.core.opsRun;
    }

    private static int track(List<Integer> open, int fd) {
        open.add(fd);
        return fd;
    }

    private static int untrack(List<Integer> open, int fd) {
        open.remove((Integer) fd);
        return fd;
    }

    private static int freeFd(int from) {
        for (int fd = from;; fd++) {
            if (Sys.libc().fcntl(fd, Linux.F_GETFD, 0) < 0) {
                return fd;
            }
        }
    }

    /** The executor loop, hand-off and spawn paths, in a throwaway private table; returns the ops it ran. */
    static long warmUpExecutor(int floor) throws SysException {
        ExecutorTaskTable t = new ExecutorTaskTable(0, floor, false);
        t.start();
        try {
            t.listFds();
            int nul = t.open("/dev/null", Linux.O_RDWR, 0);
            SpawnSpec ok = SpawnSpec.builder("/bin/true").keep(0, 1, 2, nul).setsid(true)
                    .chdir("/")
                    .action(new SpawnSpec.Open(nul + 1, "/dev/null", Linux.O_RDONLY, 0))
                    .action(new SpawnSpec.Dup2(nul + 1, nul + 2))
                    .action(new SpawnSpec.Close(nul + 2))
                    .build();
            reap(t, ok);
            reap(t, SpawnSpec.builder("/bin/true").pgroup(0).build());
            int mine = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            try {
                t.close(t.adopt(mine));
            } finally {
                Sys.close(mine);
            }
            try {
                t.syscall("inotify_rm_watch", nul, 1);
            } catch (SysException expected) {
                // EINVAL
            }
            try {
                t.spawn(SpawnSpec.builder("/nonexistent/fdrestore-warm-up").build());
            } catch (SysException expected) {
                // ENOENT from posix_spawn's return value
            }
            try {
                t.spawn(SpawnSpec.builder("/bin/true").keep(Integer.MAX_VALUE - 1).build());
            } catch (SysException expected) {
                // EBADF on a keep fd
            }
        } finally {
            t.close();
        }
        return t.core.opsRun;
    }

    private static void reap(ExecutorTaskTable t, SpawnSpec spec) {
        try {
            int child = t.spawn(spec);
            Sys.waitpid(child, 0);
        } catch (SysException tolerated) {
            // no /bin/true: the error path is warm instead
        }
    }
}
