package fdrestore.core.dump;

import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.restore.RunJournal;
import fdrestore.core.restore.TreeCgroup;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

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
 *
 * <p>When the tree is alone in a cgroup v2 of its own ({@link #freezeCgroup}: every process of that cgroup
 * and of the cgroups below it is in the tree, and its {@code cgroup.freeze} is writable), the whole cgroup
 * is frozen at once instead, and {@link #stop} only ptrace-stops a task found outside it. A cgroup stays
 * frozen if its freezer dies, so it is thawed on every path: {@link #close()} (the dump's end, an
 * exception), a shutdown hook (SIGINT, SIGTERM, an exit) and, for a SIGKILL of fdrestore, a watchdog: a
 * shell in a session of its own that ignores SIGINT, SIGTERM and SIGHUP, waits on a pipe from this JVM and
 * thaws the cgroup when the pipe ends without a "done" line (the JVM died). Should both be killed, the
 * freeze is in a journal of the run directory, written before it ({@link RunJournal#freezing}), and
 * {@code fdrestore cleanup} (which every restore runs first) thaws the cgroup; without a run directory
 * the cgroup freezer is not used. A cgroup that was frozen before the dump is used and left frozen.
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

    /** Where the freeze of a cgroup is journaled (a run directory), or null: no cgroup freezer then. */
    private final Path runBase;
    /** The journal of the cgroup's freeze, open from just before the freeze to the thaw. */
    private RunJournal journal;

    Freezer(ProcFs proc, Path runBase) {
        this.proc = proc;
        this.runBase = runBase;
    }

    private static final System.Logger LOG = System.getLogger("fdrestore.dump");
    /** How long a cgroup may take to report "frozen 1" in cgroup.events. */
    private static final long CGROUP_FREEZE_WAIT_NS = 10_000_000_000L;
    /** The cgroup frozen for the tree, or null (ptrace for every task). */
    private volatile Path cgroup;
    /** This freezer froze it (it was not frozen before), so it thaws it. */
    private volatile boolean thawCgroup;
    private Process watchdog;
    /** Tasks held still by the cgroup's freeze (not stopped before it). */
    private final Set<Integer> heldByCgroup = new TreeSet<>();
    private Thread thawHook;

    /** The cgroup v2 this freezer holds frozen, or null when it uses ptrace only. */
    Path cgroup() {
        return cgroup;
    }

    /**
     * Freezes the cgroup of the tree rooted at {@code root} when the tree is alone in it; returns null when
     * it did, else why not (the caller then stops each task with ptrace). {@code FDRESTORE_DUMP_CGROUP_FREEZE=off}
     * forces ptrace.
     */
    String freezeCgroup(int root) throws DumpException {
        if ("off".equals(System.getenv("FDRESTORE_DUMP_CGROUP_FREEZE"))) {
            return "FDRESTORE_DUMP_CGROUP_FREEZE=off";
        }
        if (runBase == null) {
            return "no run directory to journal the freeze in";
        }
        Path cg = TreeCgroup.cgroupOf(Integer.toString(root));
        if (cg == null) {
            return "process " + root + " is in no cgroup v2";
        }
        Path freeze = cg.resolve("cgroup.freeze");
        if (!Files.isWritable(freeze)) {
            return cg + " has no writable cgroup.freeze (a root cgroup has none)";
        }
        Set<Integer> tree = treeOf(root);
        String stranger = stranger(cg, tree, root);
        if (stranger != null) {
            return stranger;
        }
        for (int pid : tree) {
            Path in = TreeCgroup.cgroupOf(Integer.toString(pid));
            if (in != null && !in.startsWith(cg)) {
                return "process " + pid + " of the tree is in " + in + ", outside " + cg;
            }
        }
        try {
            boolean already = Files.readString(freeze).trim().equals("1");
            if (!already) {
                // Journaled first: should fdrestore and its watchdog both be killed, cleanup thaws it.
                try {
                    journal = RunJournal.open(runBase);
                    journal.freezing(cg);
                } catch (IOException e) {
                    dropJournal();
                    return "cannot journal the freeze in " + runBase + ": " + e.getMessage();
                }
                startWatchdog(freeze);
                thawCgroup = true;
                cgroup = cg;
                Files.writeString(freeze, "1");
            }
            cgroup = cg;
            long deadline = System.nanoTime() + CGROUP_FREEZE_WAIT_NS;
            while (!frozen(cg)) {
                if (System.nanoTime() > deadline) {
                    thaw();
                    return cg + " did not report frozen within 10 s";
                }
                Thread.sleep(1);
            }
            // A process that joined the cgroup from outside the tree before the freeze: not ours to hold.
            stranger = stranger(cg, treeOf(root), root);
            if (stranger != null) {
                thaw();
                return stranger;
            }
        } catch (IOException e) {
            thaw();
            return cg + ": " + e.getMessage();
        } catch (InterruptedException e) {
            thaw();
            Thread.currentThread().interrupt();
            throw new DumpException("interrupted while freezing " + cg);
        }
        return null;
    }

    /** The pids of the tree of {@code root} now (by /proc children, without stopping anything). */
    private Set<Integer> treeOf(int root) throws DumpException {
        Set<Integer> out = new HashSet<>();
        List<Integer> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty()) {
            int pid = todo.remove(todo.size() - 1);
            if (out.add(pid) && proc.exists(pid)) {
                try {
                    todo.addAll(proc.children(pid));
                } catch (DumpException gone) {
                    // ended meanwhile
                }
            }
        }
        return out;
    }

    /** A line naming a process of {@code cg} (or of a cgroup below it) outside {@code tree}, or null. */
    private static String stranger(Path cg, Set<Integer> tree, int root) throws DumpException {
        try (Stream<Path> s = Files.walk(cg)) {
            for (Path d : s.filter(Files::isDirectory).toList()) {
                for (String l : Files.readAllLines(d.resolve("cgroup.procs"))) {
                    if (!l.isBlank() && !tree.contains(Integer.parseInt(l.trim()))) {
                        return "process " + l.trim() + " in " + d + " is not in the tree of " + root;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return "cannot list the processes of " + cg + ": " + e.getMessage();
        }
        return null;
    }

    private static boolean frozen(Path cg) throws IOException {
        for (String l : Files.readAllLines(cg.resolve("cgroup.events"))) {
            if (l.equals("frozen 1")) {
                return true;
            }
        }
        return false;
    }

    /** The watchdog and the shutdown hook, before the freeze: there is no moment the freeze is unguarded. */
    private void startWatchdog(Path freeze) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.addAll(List.of("/bin/sh", "-c", "trap '' INT TERM HUP; read x; [ \"$x\" = done ] || echo 0 > \"$0\"",
                freeze.toString()));
        watchdog = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        thawHook = new Thread(this::thaw, "fdrestore-dump-thaw");
        Runtime.getRuntime().addShutdownHook(thawHook);
    }

    /** Thaws the cgroup if this freezer froze it, and ends the watchdog. Safe to call twice, and from a hook. */
    private synchronized void thaw() {
        Path cg = cgroup;
        cgroup = null;
        if (cg != null && thawCgroup) {
            thawCgroup = false;
            try {
                Files.writeString(cg.resolve("cgroup.freeze"), "0");
                if (journal != null) {
                    journal.thawed(cg);
                }
                dropJournal();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "could not thaw " + cg + ": " + e.getMessage()
                        + " (echo 0 > " + cg.resolve("cgroup.freeze") + "; fdrestore cleanup tries again)");
            }
        } else {
            dropJournal();
        }
        if (watchdog != null) {
            try (OutputStream o = watchdog.getOutputStream()) {
                o.write("done\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                // it ended: nothing to tell it
            }
            watchdog = null;
        }
        if (thawHook != null && Thread.currentThread() != thawHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(thawHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (or ran) anyway
            }
        }
        thawHook = null;
    }

    /** Ends the journal of the freeze (a journal that says "thawed" leaves nothing to do). */
    private void dropJournal() {
        RunJournal j = journal;
        journal = null;
        if (j != null) {
            j.close(true);
        }
    }

    /** Stops every thread of {@code pid} (unless the task is already stopped) and waits until each is. */
    void stop(int pid) throws DumpException {
        Path cg = cgroup;
        if (cg != null) {
            Path in = TreeCgroup.cgroupOf(Integer.toString(pid));
            if (in != null && in.startsWith(cg)) {
                if (!proc.stat(pid).stopped()) {
                    heldByCgroup.add(pid); // frozen with its cgroup
                }
                return;
            }
        }
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
        Set<Integer> all = new TreeSet<>(heldByCgroup);
        all.addAll(onTracer(() -> new ArrayList<>(frozen)));
        return new ArrayList<>(all);
    }

    /** Resumes every thread this freezer stopped (and the cgroup it froze), and ends the tracer thread. */
    @Override
    public void close() {
        thaw();
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
