package fdrestore.core.dump;

import fdrestore.core.spi.DumpException;
import fdrestore.core.sys.Errno;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stops the tasks of a tree with SIGSTOP for the duration of a dump, and resumes them with SIGCONT.
 * Tasks that were already stopped before the dump are left stopped. {@link #close()} resumes every task
 * this freezer stopped, whatever happened; a JVM shutdown hook does the same if fdrestore is interrupted
 * (SIGINT, SIGTERM) while the tree is stopped.
 */
final class Freezer implements AutoCloseable {
    static final int SIGCONT = 18;
    static final int SIGSTOP = 19;
    /** How long a task may take to reach the stopped state. */
    private static final long STOP_WAIT_NS = 10_000_000_000L;

    private final ProcFs proc;
    private final Set<Integer> stoppedByUs = ConcurrentHashMap.newKeySet();
    private final Thread hook = new Thread(this::resumeAll, "fdrestore-dump-resume");
    private boolean hooked;

    Freezer(ProcFs proc) {
        this.proc = proc;
    }

    /** Stops {@code pid} (unless it is already stopped) and waits until it is. */
    void stop(int pid) throws DumpException {
        hook();
        ProcFs.Stat st = proc.stat(pid);
        if (st.stopped() || st.zombie()) {
            return;
        }
        stoppedByUs.add(pid); // before the signal: a shutdown in between still resumes it
        try {
            Sys.kill(pid, SIGSTOP);
        } catch (SysException e) {
            stoppedByUs.remove(pid);
            if (e.errno() == Errno.ESRCH) {
                throw ProcFs.gone(pid);
            }
            if (e.errno() == Errno.EPERM) {
                throw ProcFs.notPermitted(pid, "SIGSTOP");
            }
            throw new DumpException("cannot stop process " + pid + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + STOP_WAIT_NS;
        while (true) {
            st = proc.stat(pid);
            if (st.stopped() || st.zombie()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new DumpException("process " + pid + " did not stop within 10 s of SIGSTOP (state "
                        + st.state() + ")");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DumpException("interrupted while stopping process " + pid);
            }
        }
    }

    private synchronized void hook() {
        if (!hooked) {
            Runtime.getRuntime().addShutdownHook(hook);
            hooked = true;
        }
    }

    /** The pids this freezer stopped (and will resume), ascending. */
    List<Integer> stopped() {
        return new ArrayList<>(new TreeSet<>(stoppedByUs));
    }

    private void resumeAll() {
        for (int pid : List.copyOf(stoppedByUs)) {
            stoppedByUs.remove(pid);
            try {
                Sys.kill(pid, SIGCONT);
            } catch (SysException ignored) {
                // gone: nothing to resume
            }
        }
    }

    /** Resumes every task this freezer stopped. */
    @Override
    public void close() {
        resumeAll();
        unhook();
    }

    private synchronized void unhook() {
        if (hooked) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (or ran) anyway
            }
            hooked = false;
        }
    }
}
