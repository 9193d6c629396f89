package fdrestore.core.dump;

import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Holds the tasks of a tree still for the duration of a dump without the tree noticing: every thread is
 * seized with {@code PTRACE_SEIZE} and stopped with {@code PTRACE_INTERRUPT}, as criu does. Unlike
 * SIGSTOP, a ptrace stop sends no SIGCHLD to the parent, shows nothing to a parent in
 * {@code waitpid(WUNTRACED)}, and leaves no pending SIGCONT behind. Tasks that were already stopped before
 * the dump are left as they are.
 *
 * <p>ptrace is per thread: the tracer is one dedicated thread, which makes every ptrace call.
 * {@link #close()} detaches every seized thread, which resumes it. The kernel detaches the tracees of a
 * thread that ends for any reason, so a dump that dies, even by SIGKILL, never leaves the tree stopped: no
 * shutdown hook or watchdog is needed for that.
 */
final class Freezer implements AutoCloseable {
    // uapi/linux/ptrace.h
    private static final int PTRACE_DETACH = 17;
    private static final int PTRACE_SEIZE = 0x4206;
    private static final int PTRACE_INTERRUPT = 0x4207;
    /** How long a thread may take to reach its ptrace stop. */
    private static final long STOP_WAIT_NS = 10_000_000_000L;

    private final ProcFs proc;
    /** Seized thread ids, in seizing order; touched only on the tracer thread. */
    private final Set<Integer> seized = new LinkedHashSet<>();
    /** Tasks held still by this freezer; touched only on the tracer thread. */
    private final Set<Integer> frozen = new TreeSet<>();
    private final ExecutorService tracer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fdrestore-dump-tracer");
        t.setDaemon(true);
        return t;
    });

    Freezer(ProcFs proc) {
        this.proc = proc;
    }

    /** Stops every thread of {@code pid} (unless the task is already stopped) and waits until each is. */
    void stop(int pid) throws DumpException {
        onTracer(() -> {
            ProcFs.Stat st = proc.stat(pid);
            if (st.stopped() || st.zombie()) {
                return null;
            }
            // A thread may start while the others are seized: list again until nothing is new.
            List<Integer> fresh;
            do {
                fresh = new ArrayList<>();
                for (int tid : proc.threads(pid)) {
                    if (!seized.contains(tid) && seize(pid, tid)) {
                        fresh.add(tid);
                    }
                }
            } while (!fresh.isEmpty());
            frozen.add(pid);
            long deadline = System.nanoTime() + STOP_WAIT_NS;
            for (int tid : proc.threads(pid)) {
                awaitStop(pid, tid, deadline);
            }
            return null;
        });
    }

    /** Seizes and interrupts one thread; false when it ended first. */
    private boolean seize(int pid, int tid) throws DumpException {
        try {
            Sys.ptrace(PTRACE_SEIZE, tid, 0, 0);
        } catch (SysException e) {
            if (e.errno() == Errno.ESRCH) {
                if (tid == pid && !proc.exists(pid)) {
                    throw ProcFs.gone(pid);
                }
                return false;
            }
            if (e.errno() == Errno.EPERM) {
                throw new DumpException("cannot hold process " + pid + " still: ptrace(PTRACE_SEIZE) of thread "
                        + tid + " is not permitted (is it traced by a debugger, or owned by another user?)", e);
            }
            throw new DumpException("cannot hold process " + pid + " still: " + e.getMessage(), e);
        }
        seized.add(tid);
        try {
            Sys.ptrace(PTRACE_INTERRUPT, tid, 0, 0);
        } catch (SysException e) {
            if (e.errno() != Errno.ESRCH) {
                throw new DumpException("cannot hold process " + pid + " still: " + e.getMessage(), e);
            }
        }
        return true;
    }

    /**
     * Waits until thread {@code tid} is in its ptrace stop ('t' in /proc), or gone. The stop is read from
     * /proc rather than waited for: a waitpid in this JVM (its process reaper, when the tree is its child)
     * may take the stop notification, but never the state.
     */
    private void awaitStop(int pid, int tid, long deadline) throws DumpException {
        while (seized.contains(tid)) {
            ProcFs.Stat st;
            try {
                st = proc.stat(tid);
            } catch (DumpException gone) {
                return; // the thread ended
            }
            if (st.state() == 't' || st.zombie()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new DumpException("process " + pid + " (thread " + tid + ") did not stop within 10 s (state "
                        + st.state() + ")");
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(0, 200_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DumpException("interrupted while stopping process " + pid);
            }
        }
    }

    /** The pids this freezer holds still (and will resume), ascending. */
    List<Integer> stopped() throws DumpException {
        return onTracer(() -> new ArrayList<>(frozen));
    }

    /** Resumes every thread this freezer stopped, and ends the tracer thread. */
    @Override
    public void close() {
        try {
            onTracer(() -> {
                for (int tid : seized) {
                    try {
                        Sys.ptrace(PTRACE_DETACH, tid, 0, 0);
                    } catch (SysException ignored) {
                        // ended, or not stopped: the tracer thread's end below detaches what is left
                    }
                }
                seized.clear();
                frozen.clear();
                return null;
            });
        } catch (DumpException | RuntimeException ignored) {
            // the tracer thread's end detaches every tracee anyway
        } finally {
            tracer.shutdownNow();
        }
    }

    private interface TracerCall<T> {
        T call() throws DumpException;
    }

    private <T> T onTracer(TracerCall<T> call) throws DumpException {
        Future<T> f = tracer.submit(call::call);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true; // the tracer must finish what it started
                }
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof DumpException d) {
                throw d;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(c);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
