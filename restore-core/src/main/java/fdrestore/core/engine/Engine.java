package fdrestore.core.engine;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The restore engine: plans file descriptions and their fd slots, picks masters, refuses cycles, then
 * runs every task's open loop on a small pool of engine threads until every slot is RESTORED, a plugin
 * fails, or every task waits for another (a stall, reported with the wait-for graph; it never hangs).
 *
 * <p>The engine never names a file kind: plugins open files through {@link FileRestorer}, and every
 * syscall goes through the task's {@link TaskTable}. Rolling back the tables after a failure is the
 * caller's job (closing a task table closes every fd in it, including fds in flight to it).
 */
public final class Engine {
    final Transport transport;
    final Path root;
    final fdrestore.api.spi.Journal journal;
    final Map<String, String> options;
    final List<FileDesc> descs = new ArrayList<>();
    final List<Fle> fles = new ArrayList<>();
    private final Map<Long, FileDesc> descById = new HashMap<>();
    private final Map<Integer, TaskLoop> tasks = new LinkedHashMap<>();
    /** For each file, the tasks whose files depend on it: woken when it changes stage. */
    private final Map<FileDesc, Set<TaskLoop>> dependents = new IdentityHashMap<>();
    private final Map<String, Boolean> signals = new ConcurrentHashMap<>();
    private final Map<String, Set<TaskLoop>> signalWaiters = new ConcurrentHashMap<>();
    private final int workers;
    final Progress progress;
    private final AtomicInteger restoredSlots = new AtomicInteger();
    private volatile long lastProgressNs = System.nanoTime();

    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger unfinished = new AtomicInteger();
    private final AtomicReference<RestoreException> failure = new AtomicReference<>();
    private final Object done = new Object();
    private volatile boolean aborted;
    private ExecutorService pool;

    private Engine(Builder b) throws RestoreException {
        this.transport = b.transport;
        this.root = b.root;
        this.journal = b.journal;
        this.options = Map.copyOf(b.options);
        this.progress = b.progress;
        this.workers = b.workers > 0 ? b.workers
                : Math.max(2, Math.min(b.tables.size(), 2 * Runtime.getRuntime().availableProcessors()));
        for (Map.Entry<Integer, TaskTable> e : b.tables.entrySet()) {
            tasks.put(e.getKey(), new TaskLoop(this, e.getKey(), e.getValue()));
        }
        for (PlannedFile p : b.files) {
            plan(p);
        }
        for (FileDesc d : descs) {
            for (Dependency dep : d.deps) {
                FileDesc other = descById.get(dep.fileId());
                if (other == null) {
                    throw new RestoreException(d.master + ": depends on file " + dep.fileId()
                            + ", which is not in the image set (" + dep.why() + ")");
                }
                if (dep.sameTask() && !d.master.task.fleByFile.containsKey(dep.fileId())) {
                    throw new RestoreException(d.master + ": needs " + other + " in the same task, but task "
                            + d.master.info.pid() + " has no fd for it (" + dep.why() + ")");
                }
                dependents.computeIfAbsent(other, k -> ConcurrentHashMap.newKeySet()).add(d.master.task);
            }
        }
        String cycle = CycleCheck.find(descs, descById);
        if (cycle != null) {
            throw new RestoreException("dependency cycle, refused before any syscall: " + cycle);
        }
        for (TaskLoop t : tasks.values()) {
            t.prepare();
        }
    }

    private void plan(PlannedFile p) throws RestoreException {
        FileInfo info = p.info;
        if (info.fles().isEmpty()) {
            throw new RestoreException(info + ": no fd refers to it");
        }
        if (descById.containsKey(info.id())) {
            throw new RestoreException("file id " + info.id() + " is planned twice");
        }
        if (info.fles().size() > 1 && info.fles().stream().anyMatch(FleInfo::isInFlight)) {
            throw new RestoreException(info + ": an in-flight slot must be the file's only slot");
        }
        FileDesc d = new FileDesc(descs.size(), info, p.kind, p.restorer, p.restorer.dependencies());
        descs.add(d);
        descById.put(info.id(), d);
        for (FleInfo fi : info.fles()) {
            TaskLoop t = tasks.get(fi.pid());
            if (t == null) {
                throw new RestoreException(info + ": task " + fi.pid() + " has no fd table");
            }
            if (t.fleByFile.containsKey(info.id())) {
                // Two fds of one task share the file: the second is a slave served by dup.
            }
            Fle f = new Fle(fles.size(), fi, d, t);
            fles.add(f);
            d.fles.add(f);
            t.fles.add(f);
            t.fleByFile.putIfAbsent(info.id(), f);
        }
        FleInfo chosen = p.restorer.chooseMaster(info.fles());
        if (chosen == null) {
            d.master = d.fles.stream().min((a, b) -> a.info.compareTo(b.info)).orElseThrow();
        } else {
            d.master = d.fles.stream().filter(f -> f.info.equals(chosen)).findFirst()
                    .orElseThrow(() -> new RestoreException(info + ": the " + p.kind
                            + " plugin chose master " + chosen + ", which does not refer to this file"));
        }
    }

    /** Runs every task's loop to completion; returns the engine phase's duration in nanoseconds. */
    public long run() throws RestoreException {
        long start = System.nanoTime();
        TableFailure opening = forEachTable(t -> transport.open(t.table));
        if (opening != null) {
            throw new RestoreException("transport: task " + opening.pid + ": " + opening.error.getMessage(), opening.error,
                    opening.pid, -1, -1, null);
        }
        for (TaskLoop t : tasks.values()) {
            if (!t.finished()) {
                unfinished.incrementAndGet();
            }
        }
        if (unfinished.get() > 0) {
            AtomicInteger n = new AtomicInteger();
            ThreadFactory tf = r -> {
                Thread th = new Thread(r, "fdrestore-engine-" + n.incrementAndGet());
                th.setDaemon(true);
                return th;
            };
            pool = Executors.newFixedThreadPool(Math.min(workers, unfinished.get()), tf);
            try {
                List<TaskLoop> start0 = new ArrayList<>();
                for (TaskLoop t : tasks.values()) {
                    if (!t.finished()) {
                        t.activate();
                        active.incrementAndGet();
                        start0.add(t);
                    }
                }
                for (TaskLoop t : start0) {
                    pool.execute(t);
                }
                awaitQuiescence();
            } finally {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        RestoreException f = failure.get();
        if (f != null) {
            throw rootCause(f);
        }
        if (unfinished.get() > 0) {
            List<String> lines = new ArrayList<>();
            for (TaskLoop t : tasks.values()) {
                t.describeWaits(lines);
            }
            String graph = String.join("\n", lines);
            throw new RestoreException("restore stalled: every task waits and nothing is in flight\n" + graph,
                    null, -1, -1, -1, graph);
        }
        TableFailure closing = forEachTable(t -> transport.close(t.table));
        if (closing != null) {
            throw new RestoreException("transport: " + closing.error.getMessage(), closing.error);
        }
        return System.nanoTime() - start;
    }

    private interface TableCall {
        void run(TaskLoop t) throws SysException;
    }

    /**
     * From how many tasks {@link #forEachTable} calls on several threads: below it, the threads' start
     * (about 0.25 ms each here) costs more than the hand-offs they overlap.
     */
    public static final int PARALLEL_TABLES = 64;

    /** A call of {@link #forEachTable} that failed: its task and its error. */
    private record TableFailure(int pid, SysException error) {
    }

    /**
     * Calls {@code call} for every task, up to {@link #workers} at once from {@link #PARALLEL_TABLES}
     * tasks on: each call is a hand-off to that
     * task's executor, so made one after another they would only wait (a transport endpoint's open, 1,000
     * tasks: 130-140 ms in sequence). Returns when every call has returned: null, or the first failure in
     * task order.
     */
    private TableFailure forEachTable(TableCall call) throws RestoreException {
        List<TaskLoop> all = new ArrayList<>(tasks.values());
        if (all.size() < PARALLEL_TABLES || workers < 2) {
            for (TaskLoop t : all) {
                try {
                    call.run(t);
                } catch (SysException e) {
                    return new TableFailure(t.pid, e);
                }
            }
            return null;
        }
        Throwable[] failed = new Throwable[all.size()];
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            for (int i = next.getAndIncrement(); i < all.size(); i = next.getAndIncrement()) {
                try {
                    call.run(all.get(i));
                } catch (SysException | RuntimeException | Error e) {
                    failed[i] = e;
                }
            }
        };
        List<Thread> helpers = new ArrayList<>();
        for (int k = 1; k < Math.min(workers, all.size()); k++) {
            Thread th = new Thread(drain, "fdrestore-engine-tables-" + k);
            th.setDaemon(true);
            th.start();
            helpers.add(th);
        }
        drain.run();
        for (Thread th : helpers) {
            fdrestore.core.runtime.Threads.joinUninterruptibly(th);
        }
        for (int i = 0; i < failed.length; i++) {
            if (failed[i] instanceof SysException e) {
                return new TableFailure(all.get(i).pid, e);
            } else if (failed[i] instanceof RuntimeException e) {
                throw e;
            } else if (failed[i] instanceof Error e) {
                throw e;
            }
        }
        return null;
    }

    private void awaitQuiescence() throws RestoreException {
        boolean told = false;
        synchronized (done) {
            while (active.get() > 0) {
                long quiet = System.nanoTime() - lastProgressNs;
                if (quiet > 500_000_000L) {
                    // told again at every wake-up while quiet, so that its counters stay live
                    progress.waiting(active.get() + " task(s) still working, " + (fles.size() - restoredSlots.get())
                            + " fd slot(s) left");
                    told = true;
                } else if (told) {
                    progress.waiting(null); // moving again
                    told = false;
                }
                try {
                    done.wait(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail(new RestoreException("interrupted"));
                    abortNow();
                    throw new RestoreException("restore interrupted");
                }
            }
        }
    }

    private void abortNow() {
        aborted = true;
    }

    // ---- called by task loops -------------------------------------------------------------------

    void schedule(TaskLoop t) {
        active.incrementAndGet();
        try {
            pool.execute(t);
        } catch (RuntimeException e) {
            // The pool is shut down: the restore is over.
            idle(t);
        }
    }

    void idle(TaskLoop t) {
        if (active.decrementAndGet() == 0) {
            synchronized (done) {
                done.notifyAll();
            }
        }
    }

    void taskFinished(TaskLoop t) {
        unfinished.decrementAndGet();
        progress.taskDone(t.pid);
    }

    /** Called once per pass by a loop that restored {@code n} slots. */
    void restored(int n) {
        restoredSlots.addAndGet(n);
        lastProgressNs = System.nanoTime();
        progress.fdsRestored(n);
    }

    boolean aborted() {
        return aborted;
    }

    void fail(RestoreException e) {
        if (failure.compareAndSet(null, e)) {
            aborted = true;
        } else if (failure.get() != e) {
            failure.get().addSuppressed(e);
        }
    }

    /**
     * The failure to report: the first one registered, unless another failure (suppressed in it) is of a
     * file the first one's file depends on, directly or not. Failing tasks race: a unix listener that
     * fails after it is bound removes its socket, and its connector may report "cannot connect" first;
     * the listener's own failure is the cause, the connector's a consequence. Likewise a broken pipe or a
     * reset connection (EPIPE, ECONNRESET) is reported only when nothing else failed.
     */
    RestoreException rootCause(RestoreException first) {
        List<RestoreException> all = new ArrayList<>();
        all.add(first);
        for (Throwable t : first.getSuppressed()) {
            if (t instanceof RestoreException r) {
                all.add(r);
            }
        }
        RestoreException cause = followDependencies(first, all);
        if (peerGone(cause)) {
            // A broken pipe or a reset connection follows a peer's end closed by a failing restorer's
            // roll-back, which may be seen before that restorer reports: report the first other failure.
            for (RestoreException other : all) {
                if (!peerGone(other)) {
                    return followDependencies(other, all);
                }
            }
        }
        return cause;
    }

    /** True when {@code e} was caused by EPIPE or ECONNRESET: the other end of a pipe or socket went away. */
    private static boolean peerGone(RestoreException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof SysException se) {
                return se.errno() == Errno.EPIPE || se.errno() == Errno.ECONNRESET;
            }
        }
        return false;
    }

    /** From {@code start}, the failure of a file it depends on, and on down; {@code start} if none. */
    private RestoreException followDependencies(RestoreException start, List<RestoreException> all) {
        RestoreException cause = start;
        for (boolean moved = true; moved; ) {
            moved = false;
            for (RestoreException other : all) {
                if (other != cause && dependsOn(cause.fileId(), other.fileId())) {
                    cause = other; // and on from there: its own cause may be further down
                    moved = true;
                }
            }
        }
        return cause;
    }

    /** Whether file {@code id} depends on file {@code on} through its plugins' dependencies (not itself). */
    private boolean dependsOn(long id, long on) {
        if (id < 0 || on < 0 || id == on || !descById.containsKey(id) || !descById.containsKey(on)) {
            return false;
        }
        java.util.ArrayDeque<Long> todo = new java.util.ArrayDeque<>(List.of(id));
        Set<Long> seen = new java.util.HashSet<>(todo);
        while (!todo.isEmpty()) {
            FileDesc d = descById.get(todo.poll());
            for (Dependency dep : d == null ? List.<Dependency>of() : d.deps) {
                if (dep.fileId() == on) {
                    return true;
                }
                if (seen.add(dep.fileId())) {
                    todo.add(dep.fileId());
                }
            }
        }
        return false;
    }

    /** A file changed stage: wake the tasks whose files depend on it. */
    void stageChanged(FileDesc d, TaskLoop by) {
        Set<TaskLoop> ts = dependents.get(d);
        if (ts != null) {
            for (TaskLoop t : ts) {
                if (t != by) {
                    t.setFdsEvent();
                }
            }
        }
    }

    void signal(String condition) {
        signals.put(condition, Boolean.TRUE);
        Set<TaskLoop> ws = signalWaiters.remove(condition);
        if (ws != null) {
            for (TaskLoop t : ws) {
                t.setFdsEvent();
            }
        }
    }

    boolean signalled(String condition, TaskLoop waiter) {
        if (signals.containsKey(condition)) {
            return true;
        }
        signalWaiters.computeIfAbsent(condition, k -> ConcurrentHashMap.newKeySet()).add(waiter);
        return signals.containsKey(condition);
    }

    FileDesc desc(long fileId) {
        FileDesc d = descById.get(fileId);
        if (d == null) {
            throw new IllegalArgumentException("no file with id " + fileId + " in this restore");
        }
        return d;
    }

    int descIndex(FileDesc d) {
        return d.index;
    }

    // ---- introspection for callers and tests ----------------------------------------------------

    /** The master chosen for file {@code fileId}. */
    public FleInfo masterOf(long fileId) {
        return desc(fileId).master.info;
    }

    /** The stage of the fd slot {@code (pid, fd)}. */
    public Stage stageOf(int pid, int fd) {
        for (Fle f : tasks.get(pid).fles) {
            if (f.fd() == fd) {
                return f.stage();
            }
        }
        throw new IllegalArgumentException("task " + pid + " has no fd " + fd);
    }

    /** Fds the engine still owns outside their targets (for rollback checks); empty after success. */
    public Map<Integer, List<Integer>> ownedTemporaries() {
        Map<Integer, List<Integer>> out = new LinkedHashMap<>();
        for (TaskLoop t : tasks.values()) {
            List<Integer> l = t.ownedTemporaries();
            if (!l.isEmpty()) {
                out.put(t.pid, l);
            }
        }
        return out;
    }

    /** The number of engine threads used. */
    public int workers() {
        return workers;
    }

    public static Builder builder(Transport transport) {
        return new Builder(transport);
    }

    private record PlannedFile(FileInfo info, String kind, FileRestorer restorer) {
    }

    /** Collects the tables and files of one restore. */
    public static final class Builder {
        private final Transport transport;
        private final Map<Integer, TaskTable> tables = new LinkedHashMap<>();
        private final List<PlannedFile> files = new ArrayList<>();
        private final Map<String, String> options = new HashMap<>();
        private Path root = Paths.get("/");
        private int workers;
        private Progress progress = Progress.NONE;
        private fdrestore.api.spi.Journal journal = fdrestore.api.spi.Journal.NONE;

        private Builder(Transport transport) {
            this.transport = transport;
        }

        /** The fd table of task {@code table.pid()}. */
        public Builder table(TaskTable table) {
            tables.put(table.pid(), table);
            return this;
        }

        public Builder tables(Collection<? extends TaskTable> ts) {
            ts.forEach(this::table);
            return this;
        }

        /** One file description, with the kind name and the restorer its plugin planned. */
        public Builder file(FileInfo info, String kind, FileRestorer restorer) {
            files.add(new PlannedFile(info, kind, restorer));
            return this;
        }

        public Builder root(Path root) {
            this.root = root;
            return this;
        }

        public Builder option(String name, String value) {
            options.put(name, value);
            return this;
        }

        /** Engine threads; 0 for the default (twice the cores, at least 2, at most the task count). */
        public Builder workers(int n) {
            this.workers = n;
            return this;
        }

        /** Where to report progress (none by default). */
        public Builder progress(Progress p) {
            this.progress = p == null ? Progress.NONE : p;
            return this;
        }

        /** Where plugins record the file system entries they make (none by default). */
        public Builder journal(fdrestore.api.spi.Journal j) {
            this.journal = j == null ? fdrestore.api.spi.Journal.NONE : j;
            return this;
        }

        /** Plans the restore: masters, dependencies, cycle check. No syscall happens here. */
        public Engine build() throws RestoreException {
            return new Engine(this);
        }
    }
}
