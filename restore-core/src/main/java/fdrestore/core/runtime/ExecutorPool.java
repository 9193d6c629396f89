package fdrestore.core.runtime;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * Executor threads kept between restores, for a long-lived process ({@code fdrestore serve}): starting a
 * thread, unsharing its fd table and listing the JVM's fds it copied is most of a restore's "tables"
 * phase (1,000 tables: 0.4-0.6 s on 2 cores). An executor whose table has closed every fd (EXIT) waits
 * here, its private table empty, until a new table takes it ({@link HandOff#begin()}), or until it has
 * waited {@code idle} and ends.
 *
 * <p>Off unless {@link #keep} turned it on: a one-shot command's executors end with their tables, as
 * before. A table of a finished restore can never reach an executor serving a newer one: its hand-off
 * is closed before the executor comes back here, and a call on a closed table fails.
 */
public final class ExecutorPool {
    private static final Object LOCK = new Object();
    /** Idle executors, newest first (a list through {@link HandOff.Worker#nextIdle}). */
    private static HandOff.Worker head;
    private static int idleCount;
    private static int maxIdle;
    private static long idleNanos;

    private ExecutorPool() {
    }

    /**
     * Keeps up to {@code max} idle executors, each for at most {@code idle}; 0 stops keeping them and
     * ends the idle ones.
     */
    public static void keep(int max, Duration idle) {
        if (max < 0 || idle.isNegative()) {
            throw new IllegalArgumentException("keep " + max + " executors for " + idle);
        }
        synchronized (LOCK) {
            maxIdle = max;
            idleNanos = idle.toNanos();
            if (max == 0) {
                for (HandOff.Worker w = head; w != null; w = w.nextIdle) {
                    LockSupport.unpark(w.thread);
                }
            }
        }
    }

    /** Stops keeping executors; the idle ones end. */
    public static void stop() {
        keep(0, Duration.ZERO);
    }

    /** How many executors wait for a table now. */
    public static int idle() {
        synchronized (LOCK) {
            return idleCount;
        }
    }

    static boolean keeping() {
        synchronized (LOCK) {
            return maxIdle > 0;
        }
    }

    /** An idle executor, now given {@code h} to serve (the caller unparks it); null when none waits. */
    static HandOff.Worker take(HandOff h) {
        synchronized (LOCK) {
            HandOff.Worker w = head;
            if (w != null) {
                head = w.nextIdle;
                w.nextIdle = null;
                idleCount--;
                w.next = h;
            }
            return w;
        }
    }

    /**
     * Called by executor {@code w} once its table is closed: waits for its next table and returns it, or
     * returns null when the pool does not keep it (full, off, or it waited too long), and the thread ends.
     * Runs on the executor thread: a monitor, primitives and park only.
     */
    @NativeOnly
    static HandOff idle(HandOff.Worker w) {
        long wait;
        synchronized (LOCK) {
            if (idleCount >= maxIdle) {
                return null;
            }
            w.nextIdle = head;
            head = w;
            idleCount++;
            wait = idleNanos;
        }
        long deadline = System.nanoTime() + wait;
        for (;;) {
            HandOff h = w.next;
            if (h != null) {
                return h;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || maxIdleNow() == 0) {
                synchronized (LOCK) {
                    if (w.next == null) { // not taken: it is still in the list
                        unlink(w);
                        return null;
                    }
                }
                continue;
            }
            LockSupport.parkNanos(left);
        }
    }

    private static int maxIdleNow() {
        synchronized (LOCK) {
            return maxIdle;
        }
    }

    /** Removes {@code w} from the idle list; the caller holds the lock. */
    @NativeOnly
    private static void unlink(HandOff.Worker w) {
        if (head == w) {
            head = w.nextIdle;
        } else {
            for (HandOff.Worker p = head; p != null; p = p.nextIdle) {
                if (p.nextIdle == w) {
                    p.nextIdle = w.nextIdle;
                    break;
                }
            }
        }
        w.nextIdle = null;
        idleCount--;
    }
}
