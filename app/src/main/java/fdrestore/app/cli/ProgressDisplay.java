package fdrestore.app.cli;

import fdrestore.app.Invocation;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A one-line progress display on stderr: the phase, tasks done / total, fds done / total, the elapsed
 * time, and what the engine waits for when it stalls. Updates only move counters; a daemon thread
 * (started from the main thread) redraws the line every {@link #PERIOD_MS} ms, so the engine's hot loop
 * pays for an atomic add and nothing else. {@link #close()} erases the line before the command prints
 * its result.
 *
 * <p>It is shown only when it helps: stderr is a terminal, the output is not {@code --json}, the
 * environment variable {@code CI} is not set, and the restore is big enough ({@link #wanted}).
 */
public final class ProgressDisplay implements RestoreProgress, AutoCloseable {
    /** A restore with at least this many tasks, or {@link #MIN_FDS} fds, shows progress. */
    static final int MIN_TASKS = 8;
    static final int MIN_FDS = 256;
    static final long PERIOD_MS = 100;

    private final PrintWriter err;
    private final long start = System.nanoTime();
    private final AtomicInteger tasksDone = new AtomicInteger();
    private final AtomicInteger fdsDone = new AtomicInteger();
    private volatile int tasks;
    private volatile int fds;
    private volatile String phase = "start";
    private volatile String waiting;
    private volatile boolean closed;
    private final Thread painter;
    private int lastWidth;

    ProgressDisplay(PrintWriter err) {
        this.err = err;
        this.painter = new Thread(this::paintLoop, "fdrestore-progress");
        painter.setDaemon(true);
        painter.start();
    }

    /**
     * Whether to show a progress display.
     *
     * @param forced   {@code --progress} (TRUE), {@code --no-progress} (FALSE) or neither (null: decide)
     * @param terminal whether stderr (not stdin or stdout) is a terminal
     */
    static boolean wanted(Boolean forced, boolean json, boolean terminal, Map<String, String> env, int tasks, int fds) {
        if (forced != null) {
            return forced;
        }
        if (json || !terminal || env.get("CI") != null) {
            return false;
        }
        return tasks >= MIN_TASKS || fds >= MIN_FDS;
    }

    /** A display on {@code err} when {@link #wanted}, else {@link RestoreProgress#NONE}. */
    static RestoreProgress create(Invocation inv, PrintWriter err, Boolean forced, boolean json, int tasks, int fds) {
        if (!wanted(forced, json, inv.stderrTerminal(), inv.env(), tasks, fds)) {
            return NONE;
        }
        ProgressDisplay d = new ProgressDisplay(err);
        d.totals(tasks, fds);
        return d;
    }

    /** Closes {@code p} when it is a display (erasing its line). */
    static void end(RestoreProgress p) {
        if (p instanceof ProgressDisplay d) {
            d.close();
        }
    }

    @Override
    public void phase(String phase) {
        this.phase = phase;
        this.waiting = null;
    }

    @Override
    public void totals(int tasks, int fds) {
        this.tasks = tasks;
        this.fds = fds;
    }

    @Override
    public void taskDone() {
        tasksDone.incrementAndGet();
    }

    @Override
    public void fdsDone(int n) {
        fdsDone.addAndGet(n);
    }

    @Override
    public void waiting(String waitFor) {
        this.waiting = waitFor;
    }

    /** The line as it is now (without the carriage return). */
    String line() {
        StringBuilder sb = new StringBuilder("fdrestore: ").append(phase).append(" | tasks ")
                .append(tasksDone.get()).append('/').append(tasks).append(" | fds ").append(fdsDone.get()).append('/')
                .append(fds).append(String.format(" | %.1f s", (System.nanoTime() - start) / 1e9));
        String w = waiting;
        if (w != null) {
            sb.append(" | waiting: ").append(w);
        }
        return sb.toString();
    }

    private void paintLoop() {
        while (!closed) {
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
            paint();
        }
    }

    private synchronized void paint() {
        if (closed) {
            return;
        }
        String l = line();
        if (l.length() > 160) {
            l = l.substring(0, 157) + "...";
        }
        // \r then the line, padded over the previous one (no escape sequences: any terminal copes)
        err.print("\r" + l + " ".repeat(Math.max(0, lastWidth - l.length())));
        err.flush();
        lastWidth = l.length();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        painter.interrupt();
        paint(); // the final counts, however short the restore was; then the line is erased
        closed = true;
        if (lastWidth > 0) {
            err.print("\r" + " ".repeat(lastWidth) + "\r");
            err.flush();
        }
    }
}
