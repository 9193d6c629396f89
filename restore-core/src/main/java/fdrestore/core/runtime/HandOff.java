package fdrestore.core.runtime;

import fdrestore.api.sys.LibC;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One task table's executor thread and the hand-off to it: the caller writes a request into the
 * {@link ExecutorCore}, sets the state to PENDING and unparks the executor, which runs it and sets DONE
 * (volatile state, a brief spin when a spin slot is free, then LockSupport park/unpark). An inline
 * hand-off (the warm-up's) runs the request on the caller's thread, in the JVM's table.
 *
 * <p>The executor thread runs only {@link Worker}: it calls unshare(CLONE_FILES), records the fds it
 * inherited, then serves requests until EXIT, which closes its whole table; a long-lived process
 * ({@code fdrestore serve}) keeps such threads, their tables empty, for its next restores
 * ({@link ExecutorPool}).
 */
final class HandOff {
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
    private static final AtomicInteger SPINNERS = new AtomicInteger();
    private static final long ALIVE_CHECK_NANOS = 50_000_000L;

    private final int pid;
    private final ExecutorCore core;
    private final boolean inline;
    /** The executor thread; a pooled one ({@link ExecutorPool}) serves several tables in turn. */
    private volatile Thread thread;
    /** Whether this table's executor came from, or may go back to, the pool (see {@link #join()}). */
    private boolean pooled;

    private volatile int state = IDLE;
    private volatile Thread waiter;
    private volatile boolean started;
    private volatile int startErr;
    private volatile int startPhase;
    private volatile int tid;
    private volatile boolean closed;
    /** The executor has closed this table's fds (EXIT) and is done with it. */
    private volatile boolean released;

    HandOff(int imagePid, ExecutorCore core, boolean inline) {
        this.pid = imagePid;
        this.core = core;
        this.inline = inline;
        if (inline) {
            this.started = true;
            this.tid = Sys.gettid();
        }
    }

    boolean inline() {
        return inline;
    }

    int tid() {
        return tid;
    }

    boolean closed() {
        return closed;
    }

    void markClosed() {
        closed = true;
    }

    /**
     * Starts the executor without waiting for it (see {@link #awaitStarted()}): an idle one of the
     * {@link ExecutorPool} when it has one, whose private table is empty, else a new thread.
     */
    void begin() {
        if (inline) {
            return;
        }
        waiter = Thread.currentThread();
        pooled = ExecutorPool.keeping();
        Worker w = pooled ? ExecutorPool.take(this) : null;
        if (w != null) {
            thread = w.thread;
            thread.setName("fdrestore-task-" + pid);
            LockSupport.unpark(thread);
            return;
        }
        Worker fresh = new Worker(this);
        Thread t = new Thread(null, fresh, "fdrestore-task-" + pid, 512 * 1024);
        t.setDaemon(true);
        t.setUncaughtExceptionHandler(SilentHandler.INSTANCE);
        fresh.thread = t;
        thread = t;
        t.start();
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
            join();
            closed = true;
            String call = startPhase == 0 ? "unshare(CLONE_FILES)" : "listing /proc/thread-self/fd";
            throw new SysException(call + " on the executor of task " + pid, startErr == 0 ? -1 : startErr);
        }
    }

    /**
     * An executor thread: the only code that runs on it. It calls unshare(CLONE_FILES) once, then serves
     * one table after another: for each, it records the fds its table holds (the JVM's, copied by the
     * unshare, for its first table; none after), serves requests until EXIT, which closes every fd of the
     * table, and then waits in the {@link ExecutorPool} for its next table, or ends when the pool keeps
     * no executors (a one-shot command) or has kept it idle long enough.
     */
    @NativeOnly
    static final class Worker implements Runnable {
        Thread thread;
        /** The table to serve next: set by {@link ExecutorPool#take} under the pool's lock. */
        volatile HandOff next;
        /** The next idle executor of the pool's list (the pool's lock guards it). */
        Worker nextIdle;

        Worker(HandOff first) {
            this.next = first;
        }

        @Override
        public void run() {
            LibC c = Native.libc();
            int tid = (int) c.syscall(Linux.SYS_GETTID);
            boolean own = false;
            for (HandOff h = next; h != null; h = ExecutorPool.idle(this)) {
                next = null;
                h.tid = tid;
                if (!own && c.unshare(Linux.CLONE_FILES) < 0) {
                    h.startErr = Native.errno();
                    h.startPhase = 0;
                    h.started = true;
                    LockSupport.unpark(h.waiter);
                    return;
                }
                own = true;
                if (!serve(h, c)) {
                    return;
                }
            }
        }

        /** Serves {@code h} until its EXIT; false when this thread must end (its table is not clean). */
        private static boolean serve(HandOff h, LibC c) {
            ExecutorCore core = h.core;
            core.privateTable = true;
            if (!core.recordInherited()) {
                h.startErr = core.err;
                h.startPhase = 1;
                c.syscall(Linux.SYS_CLOSE_RANGE, 0L, 0xffffffffL, 0L);
                h.started = true;
                LockSupport.unpark(h.waiter);
                return false;
            }
            h.started = true;
            LockSupport.unpark(h.waiter);
            long spinNanos = EXECUTOR_SPIN_NANOS;
            for (;;) {
                spinFor(h, PENDING, spinNanos);
                while (h.state != PENDING) {
                    LockSupport.park(h);
                }
                boolean more = core.dispatch();
                Thread w = h.waiter;
                if (!more) {
                    h.released = true; // before DONE: the closer's join() returns as soon as it sees it
                }
                h.state = DONE;
                LockSupport.unpark(w);
                if (!more) {
                    return true;
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

    /**
     * Spins up to {@code nanos} until {@code h}'s state is {@code want}, if one of the
     * {@link #MAX_SPINNERS} spin slots is free; returns at once otherwise (the caller then parks). Runs on
     * executor threads too: primitives and an AtomicInteger only.
     */
    static void spinFor(HandOff h, int want, long nanos) {
        if (nanos <= 0 || h.state == want) {
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
        while (h.state != want) {
            Thread.onSpinWait();
            if ((++spins & 63) == 0 && System.nanoTime() - deadline > 0) {
                break;
            }
        }
        SPINNERS.decrementAndGet();
    }

    /**
     * Runs the request written in the core and waits for its answer. The caller holds the table's lock.
     * Throws IllegalStateException when the table is closed or its executor died.
     */
    void run() {
        if (closed) {
            throw new IllegalStateException("task table " + pid + " is closed");
        }
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

    /**
     * Waits until the executor is done with this table: until its thread ends, or, for an executor of
     * the pool, until it has closed the table's fds (it then serves another table or ends). None for an
     * inline hand-off.
     */
    void join() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        if (!pooled) {
            Threads.joinUninterruptibly(t);
            return;
        }
        while (!released && t.isAlive()) {
            LockSupport.parkNanos(this, 100_000L);
        }
    }
}
