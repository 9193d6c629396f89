package fdrestore.core.restore;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.fault.FaultInjectingTable;
import fdrestore.core.fault.FaultPlan;
import fdrestore.core.image.FdType;
import fdrestore.core.image.ImageSet;
import fdrestore.core.image.ImageSet.Fd;
import fdrestore.core.image.ImageSet.FdRef;
import fdrestore.core.image.ImageSet.Task;
import fdrestore.core.image.proto.FdrTaskEntry;
import fdrestore.core.image.proto.FileEntry;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.SpawnSpec;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.FileKind;
import fdrestore.core.spi.FileRestorer;
import fdrestore.core.spi.FleInfo;
import fdrestore.core.spi.PlanContext;
import fdrestore.core.spi.PlanException;
import fdrestore.core.spi.ProcessAction;
import fdrestore.core.spi.TaskTable;
import fdrestore.core.spi.Transport;
import fdrestore.core.sys.Errno;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * One restore, end to end: plan every file with its plugin (before any syscall), start one private fd
 * table per task, run the engine, then turn every table into a process. On any failure every table is
 * dropped (the kernel closes every fd in it, including fds in flight in its transport socket) and every
 * spawned process is killed, so nothing is left half-restored.
 */
public final class Restorer {
    private final ImageSet images;
    private final Map<FdType, FileKind> kinds;
    private final Supplier<Transport> transports;
    private final Options options;
    private final PlanContext planContext;
    /** Files that exist only in flight, by id, with their slot ({@link FileKind#inFlight}); set by plan(). */
    private final Map<Long, FleInfo> inFlight = new java.util.concurrent.ConcurrentHashMap<>();
    private fdrestore.core.engine.Progress progress = fdrestore.core.engine.Progress.NONE;
    /** Per task (image pid), what it must do as it becomes a process; filled by plan(). */
    private final Map<Integer, List<ProcessAction>> processActions = new HashMap<>();
    /** Per task (image pid), the table the engine and the process steps call: the real one, or one with faults. */
    private final Map<Integer, TaskTable> io = new HashMap<>();
    /** Per task (image pid), the task whose table it uses: itself, or the first task sharing its files_id. */
    private final Map<Integer, Integer> owners = new HashMap<>();
    /** The tasks (image pids) that have a child in the images. */
    private final java.util.Set<Integer> parents = new java.util.HashSet<>();
    /** Per task that owns a table other tasks share, those tasks. */
    private final Map<Integer, List<Integer>> sharersOf = new HashMap<>();
    /** The control pipes of the tree's builders (image pid), once spawnAll has made them. */
    private Map<Integer, Control> controlsOf = Map.of();
    /** Per task that runs its command (image pid): its start pipe {read, write}, in its table. */
    private final Map<Integer, int[]> starts = new HashMap<>();
    /** The processes and the cgroup of the restore under way, for {@link #stopProcesses} from another thread. */
    private volatile List<Integer> liveSpawned = List.of();
    private volatile TreeCgroup liveTree;
    /** Called once the tree is built, before any command starts (real pid map, real pid -> start fd). */
    private java.util.function.BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> atGate;

    /**
     * What the restored tasks run. By default every task runs the holder, exactly as the images say (fds,
     * cwd, umask, blocked signals). {@code exec}: a task that exec'd a program of its own (see
     * {@link #execd}) runs its recorded command instead; {@code listenFds}: such a command gets its
     * listening sockets as systemd's socket activation gives them (LISTEN_FDS at 3 onward);
     * {@code cwdFallback}: a task whose recorded cwd is missing under the root starts in the root instead
     * of failing the restore.
     */
    public record Launch(boolean exec, boolean listenFds, boolean cwdFallback) {
        /** Every task holds its fds, in its recorded cwd. */
        public static final Launch EXACT = new Launch(false, false, false);
    }

    /** What a restore may be asked to do. {@code forceHolder} holds every task whatever {@code launch} says. */
    public record Options(Path root, Map<String, String> pluginOptions, String holder, boolean forceHolder,
                          int workers, FaultPlan faults, Path workDir, Launch launch) {
        public Options {
            pluginOptions = Map.copyOf(pluginOptions);
            launch = launch == null ? Launch.EXACT : launch;
        }

        /** Options without fault injection. */
        public Options(Path root, Map<String, String> pluginOptions, String holder, boolean forceHolder, int workers) {
            this(root, pluginOptions, holder, forceHolder, workers, null, null, Launch.EXACT);
        }

        public Options(Path root, Map<String, String> pluginOptions, String holder, boolean forceHolder, int workers,
                       FaultPlan faults, Path workDir) {
            this(root, pluginOptions, holder, forceHolder, workers, faults, workDir, Launch.EXACT);
        }

        /** What the restored tasks run (see {@link Launch}). */
        public Options withLaunch(Launch l) {
            return new Options(root, pluginOptions, holder, forceHolder, workers, faults, workDir, l);
        }

        public static Options defaults(String holder) {
            return new Options(Path.of("/"), Map.of(), holder, false, 0);
        }

        public Options withRoot(Path r) {
            return new Options(r, pluginOptions, holder, forceHolder, workers, faults, workDir, launch);
        }

        /** Hardening tests: every task table fails (and counts) calls as {@code plan} says; null for none. */
        public Options withFaults(FaultPlan plan) {
            return new Options(root, pluginOptions, holder, forceHolder, workers, plan, workDir, launch);
        }

        /**
         * The directory root tasks start in when the images record none (null: this process's own). A server
         * gives its client's, so that what it restores starts where a direct run would have.
         */
        public Options withWorkDir(Path dir) {
            return new Options(root, pluginOptions, holder, forceHolder, workers, faults, dir, launch);
        }
    }

    /** A restored task: its image pid and the real pid of the process now holding its fds. */
    public record RestoredTask(int imagePid, int pid, String command) {
    }

    /**
     * The outcome: the pid mapping in pstree order, phase durations (ns), transport figures, and what
     * holds the restored tree ({@link TreeCgroup#killAll} stops every process of it).
     */
    public record Result(List<RestoredTask> tasks, long planNs, long tablesNs, long engineNs, long spawnNs,
                         long droppedMessages, int fds, TreeCgroup tree) {
        /** image pid -> real pid. */
        public Map<Integer, Integer> pidMap() {
            Map<Integer, Integer> m = new LinkedHashMap<>();
            for (RestoredTask t : tasks) {
                m.put(t.imagePid, t.pid);
            }
            return m;
        }
    }

    /**
     * @param kinds      the file kinds the loaded plugins provide; two claiming one fd type is an error
     * @param transports makes a transport with a fresh run id (called again if a name is already taken)
     */
    public Restorer(ImageSet images, Collection<? extends FileKind> kinds, Supplier<Transport> transports,
                    Options options) throws RestoreException {
        this.images = images;
        this.kinds = byType(kinds);
        this.transports = transports;
        this.options = options;
        Map<Long, Integer> firstOfTable = new HashMap<>();
        for (Task t : images.tasks()) {
            int owner = firstOfTable.computeIfAbsent(t.filesId(), k -> t.pid());
            owners.put(t.pid(), owner);
            if (t.ppid() != t.pid()) {
                parents.add(t.ppid());
            }
            if (owner != t.pid()) {
                sharersOf.computeIfAbsent(owner, k -> new ArrayList<>()).add(t.pid());
            }
        }
        this.planContext = new PlanContext() {
            @Override
            public ImageSet images() {
                return images;
            }

            @Override
            public Path root() {
                return options.root();
            }

            @Override
            public String option(String name) {
                return options.pluginOptions().get(name);
            }

            @Override
            public FleInfo inFlight(long fileId) {
                return inFlight.get(fileId);
            }
        };
    }

    /** The caller's fds that stand for files of the images ({@code --inherit-fd}); none by default. */
    private InheritFds inherit = InheritFds.none();

    /** Files of the images taken from the caller's fds instead of being restored ({@code --inherit-fd}). */
    public Restorer inheritFds(InheritFds fds) {
        this.inherit = fds == null ? InheritFds.none() : fds;
        return this;
    }

    /**
     * What to do once every task is built with its final table and before any recorded command starts
     * (with {@link Launch#exec}): a verification sees the tables as restored, not as a command changed
     * them. It is given the pid map and, per real pid, the one fd (its start pipe) that the task holds
     * beyond its images until then. Called in every restore, with or without commands.
     */
    public Restorer atGate(java.util.function.BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> check) {
        this.atGate = check;
        return this;
    }

    /**
     * Refuses, before anything starts, the files that only a mapping can restore and have none: one line
     * per fd, naming the task, the fd and the resource.
     */
    private void checkExternal() throws RestoreException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            String why = inherit.unmapped(images.file(e.getKey()).orElseThrow(), images);
            if (why != null) {
                for (FdRef r : e.getValue()) {
                    problems.add("task " + r.pid() + " fd " + r.fd().fd() + ": " + why);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new RestoreException(String.join("\n", problems));
        }
    }

    /**
     * Stops every process the restore under way (or just ended) has made, with all their descendants; for
     * a signal that ends this JVM during the restore, when the restore's own clean-up will not run. Returns
     * how many processes were stopped.
     */
    public int stopProcesses() {
        TreeCgroup t = liveTree;
        List<Integer> snap;
        synchronized (liveSpawned) {
            snap = new ArrayList<>(liveSpawned);
        }
        return t == null ? 0 : t.killAll(snap);
    }

    /** Where to report phases and engine progress (none by default). */
    public Restorer progress(fdrestore.core.engine.Progress p) {
        this.progress = p == null ? fdrestore.core.engine.Progress.NONE : p;
        return this;
    }

    /** Maps fd types to kinds; two kinds claiming one type is an error. */
    public static Map<FdType, FileKind> byType(Collection<? extends FileKind> kinds) throws RestoreException {
        Map<FdType, FileKind> m = new EnumMap<>(FdType.class);
        for (FileKind k : kinds) {
            for (FdType t : k.fdTypes()) {
                FileKind prev = m.putIfAbsent(t, k);
                if (prev != null && prev != k) {
                    throw new RestoreException("two plugins claim fd type " + t + ": '" + prev.name() + "' ("
                            + prev.getClass().getName() + ") and '" + k.name() + "' (" + k.getClass().getName() + ")");
                }
            }
        }
        return m;
    }

    /** A planned file: its info, the kind that restores it and the kind's restorer. */
    private record Planned(FileInfo info, FileKind kind, FileRestorer restorer) {
    }

    /** Plans every file; reports every missing kind and every plan problem together. No syscall. */
    private List<Planned> plan() throws RestoreException {
        List<Planned> out = new ArrayList<>();
        Map<String, List<String>> missing = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        PlanContext ctx = planContext;
        for (Task t : images.tasks()) {
            int owner = tableOwner(t);
            Task parent = images.task(t.ppid()).orElse(null);
            if (owner != t.pid() && (parent == null || parent.filesId() != t.filesId())) {
                problems.add("task " + t.pid() + " shares one fd table (files_id " + t.filesId() + ", CLONE_FILES) with task "
                        + owner + " but not with its parent: only a table shared with the parent can be recreated");
            }
            String lost = missingCwd(t);
            if (lost != null && !options.launch().cwdFallback()) {
                problems.add("task " + t.pid() + ": its cwd " + lost + " is missing under " + options.root()
                        + " (--cwd-fallback starts such a task in the root instead)");
            }
        }
        for (FileKind k : new java.util.LinkedHashSet<>(kinds.values())) {
            try {
                for (Map.Entry<Long, Integer> w : k.inFlight(images).entrySet()) {
                    FleInfo prev = inFlight.putIfAbsent(w.getKey(), FleInfo.inFlight(w.getValue()));
                    if (images.sharers().containsKey(w.getKey())) {
                        problems.add(k.name() + ": file " + w.getKey() + " has fds, it is not only in flight");
                    } else if (prev != null && prev.pid() != w.getValue()) {
                        problems.add("file " + w.getKey() + " exists only in flight and is needed by tasks "
                                + prev.pid() + " and " + w.getValue() + ": not supported");
                    }
                }
            } catch (PlanException | RuntimeException ex) {
                problems.add(k.name() + ": " + ex.getMessage());
            }
        }
        for (Map.Entry<Long, FleInfo> w : inFlight.entrySet()) {
            FileEntry entry = images.file(w.getKey()).orElse(null);
            FdType type = entry == null ? null : FdType.of(entry.getType());
            FileKind kind = type == null ? null : kinds.get(type);
            String what = w.getValue() + ": file " + w.getKey() + ", passed in flight";
            if (entry == null) {
                problems.add(what + ", is not in files.img");
            } else if (kind == null) {
                missing.computeIfAbsent(type == null ? "fd type " + entry.getType() : type.name(),
                        x -> new ArrayList<>()).add(what);
            } else {
                FileInfo info = new FileInfo(w.getKey(), type, entry, List.of(w.getValue()));
                try {
                    out.add(new Planned(info, kind, kind.plan(info, ctx)));
                } catch (PlanException | RuntimeException ex) {
                    problems.add(what + " (" + kind.name() + "): " + ex.getMessage());
                }
            }
        }
        List<Exception> planFailures = new ArrayList<>();
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            FileEntry entry = images.file(e.getKey()).orElseThrow();
            List<FleInfo> fles = new ArrayList<>();
            for (FdRef r : e.getValue()) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            Fd first = e.getValue().get(0).fd();
            FdType type = first.type();
            Integer inherited = type == null ? null : inherit.fdFor(entry, images);
            if (inherited != null) {
                String key = InheritFds.key(entry, images).orElseThrow();
                out.add(new Planned(new FileInfo(e.getKey(), type, entry, fles), null, InheritFds.restorer(inherited, key)));
                continue;
            }
            FileKind kind = type == null ? null : kinds.get(type);
            if (kind == null) {
                String k = type == null ? "fd type " + first.rawType() : type.name();
                List<String> users = missing.computeIfAbsent(k, x -> new ArrayList<>());
                for (FleInfo f : fles) {
                    users.add(f.toString());
                }
                continue;
            }
            FileInfo info = new FileInfo(e.getKey(), type, entry, fles);
            try {
                out.add(new Planned(info, kind, kind.plan(info, ctx)));
            } catch (PlanException | RuntimeException ex) {
                problems.add(fles.get(0) + " (" + kind.name() + " file " + e.getKey() + "): " + ex.getMessage());
                planFailures.add(ex);
            }
        }
        for (Task t : images.tasks()) {
            List<ProcessAction> actions = new ArrayList<>();
            for (FileKind k : new java.util.LinkedHashSet<>(kinds.values())) {
                try {
                    actions.addAll(k.processActions(t, ctx));
                } catch (PlanException | RuntimeException ex) {
                    problems.add("task " + t.pid() + " (" + k.name() + "): " + ex.getMessage());
                }
            }
            processActions.put(t.pid(), actions);
        }
        missing.forEach((k, users) -> problems.add(0, "no plugin restores " + k + " (used by "
                + (users.size() > 6 ? String.join(", ", users.subList(0, 6)) + " and " + (users.size() - 6) + " more"
                : String.join(", ", users)) + ")"));
        if (!problems.isEmpty()) {
            fdrestore.core.image.codec.ImageFormatException bad = imageFormatCause(problems, planFailures);
            if (bad != null) {
                // one bad image behind every problem (issue 23 item 6: payloads over the budget): one line
                throw new RestoreException(problems.get(0) + (problems.size() == 1 ? ""
                        : " (and " + (problems.size() - 1) + " more files that read it)"), bad);
            }
            throw new RestoreException(problems.size() == 1 ? problems.get(0)
                    : problems.size() + " files cannot be restored:\n  - " + String.join("\n  - ", problems));
        }
        return out;
    }

    /**
     * The image format error behind every plan problem, when each of them is one (the same image refused
     * for every file that reads it), else null.
     */
    private static fdrestore.core.image.codec.ImageFormatException imageFormatCause(List<String> problems,
                                                                                     List<Exception> failures) {
        if (failures.size() != problems.size()) {
            return null;
        }
        fdrestore.core.image.codec.ImageFormatException first = null;
        for (Exception f : failures) {
            fdrestore.core.image.codec.ImageFormatException found = null;
            for (Throwable c = f; c != null && found == null; c = c.getCause()) {
                if (c instanceof fdrestore.core.image.codec.ImageFormatException i) {
                    found = i;
                }
            }
            if (found == null || first != null && !first.getMessage().equals(found.getMessage())) {
                return null;
            }
            first = found;
        }
        return first;
    }

    /** Lets every planned restorer undo what it made outside the tables; their failures are suppressed. */
    private static void abortAll(List<Planned> planned, Throwable cause) {
        for (Planned p : planned) {
            try {
                p.restorer.abort();
            } catch (Exception | Error e) {
                cause.addSuppressed(e);
            }
        }
    }

    /** A transport name was taken (a squatter, or a concurrent restore with the same run id). */
    private static final class NameTaken extends Exception {
        private static final long serialVersionUID = 1L;

        NameTaken(RestoreException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * Runs the restore. On failure nothing is left: no fd, no process, no fd in flight. A transport name
     * that is already taken is detected and the restore starts again with a new run id (three tries).
     */
    public Result run() throws RestoreException {
        NameTaken last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return runOnce();
            } catch (NameTaken e) {
                last = e;
            }
        }
        throw new RestoreException("transport names kept colliding after 3 run ids: " + last.getMessage(),
                last.getCause());
    }

    private Result runOnce() throws RestoreException, NameTaken {
        long t0 = System.nanoTime();
        Capacity.check(images.tasks().size());
        checkExternal();
        // One table per fd table of the images: tasks that share one (CLONE_FILES) share its owner's.
        List<Task> tasks = images.tasks().stream().filter(t -> tableOwner(t) == t.pid()).toList();
        int[] pids = new int[tasks.size()];
        int[] floors = new int[tasks.size()];
        int fds = 0;
        for (int i = 0; i < pids.length; i++) {
            Task t = tasks.get(i);
            int floor = 3;
            for (Fd fd : t.fds()) {
                floor = Math.max(floor, fd.fd() + 1);
            }
            fds += t.fds().size();
            pids[i] = t.pid();
            floors[i] = floor;
        }
        // The tables start on another thread while the plugins plan (which makes no syscall): thread
        // creation, unshare and the fd listings of 1,000 tables overlap the planning.
        TaskRuntime runtime = new TaskRuntime();
        TableStart starting = new TableStart(runtime, pids, floors);
        progress.phase("plan");
        List<Planned> planned;
        try {
            planned = plan();
        } catch (RestoreException | RuntimeException | Error e) {
            starting.awaitQuietly();
            runtime.close();
            throw e;
        }
        long t1 = System.nanoTime();
        List<Integer> spawned = java.util.Collections.synchronizedList(new ArrayList<>());
        Transport transport = null;
        boolean ok = false;
        TreeCgroup tree = TreeCgroup.create();
        liveSpawned = spawned;
        liveTree = tree;
        try {
            Map<Integer, ExecutorTaskTable> tables = new LinkedHashMap<>();
            progress.phase("tables");
            try {
                List<ExecutorTaskTable> started = starting.await();
                for (int i = 0; i < pids.length; i++) {
                    tables.put(pids[i], started.get(i));
                }
            } catch (SysException e) {
                throw new RestoreException("cannot start a task's fd table: " + e.getMessage(), e);
            }
            long t2 = System.nanoTime();
            io.clear();
            tables.forEach((pid, t) -> io.put(pid, options.faults() == null ? t
                    : new FaultInjectingTable(t, options.faults())));
            List<TaskTable> engineTables = new ArrayList<>(io.values());
            for (Task t : images.tasks()) {
                io.putIfAbsent(t.pid(), io.get(tableOwner(t))); // a sharer calls its owner's table
            }
            progress.phase("engine");
            Engine.Builder b = Engine.builder(transport = transports.get()).tables(engineTables)
                    .root(options.root()).workers(options.workers()).progress(progress);
            options.pluginOptions().forEach(b::option);
            for (Planned p : planned) {
                b.file(p.info, p.kind == null ? "inherit-fd" : p.kind.name(), p.restorer);
            }
            Engine engine = b.build();
            try {
                long ns = engine.run();
                t2 = System.nanoTime() - ns;
            } catch (RestoreException ex) {
                if (ex.getCause() instanceof SysException se && se.errno() == Errno.EADDRINUSE
                        && ex.getMessage().startsWith("transport")) {
                    throw new NameTaken(ex);
                }
                throw ex;
            }
            long t3 = System.nanoTime();
            progress.phase("processes");
            List<RestoredTask> restored = spawnAll(tables, spawned, tree);
            long t4 = System.nanoTime();
            ok = true;
            return new Result(restored, t1 - t0, t2 - t1, t3 - t2, t4 - t3, transport.dropped(), fds, tree);
        } catch (RestoreException e) {
            abortAll(planned, e);
            throw e;
        } catch (RuntimeException | Error e) {
            abortAll(planned, e);
            throw e;
        } finally {
            if (!ok) {
                killTree(spawned);
                tree.killAll(spawned); // what the listing cannot see: orphans of a builder that died
            }
            tree.settle();
            if (transport != null) {
                transport.close();
            }
            starting.awaitQuietly();
            runtime.close();
        }
    }

    /** {@link TaskRuntime#startAll} on a thread of its own; its result or its failure is awaited. */
    private static final class TableStart {
        private final Thread thread;
        private volatile List<ExecutorTaskTable> tables;
        private volatile Throwable failure;

        TableStart(TaskRuntime runtime, int[] pids, int[] floors) {
            thread = new Thread(() -> {
                try {
                    tables = runtime.startAll(pids, floors);
                } catch (Throwable t) {
                    failure = t;
                }
            }, "fdrestore-table-start");
            thread.setDaemon(true);
            thread.start();
        }

        List<ExecutorTaskTable> await() throws SysException {
            awaitQuietly();
            Throwable f = failure;
            if (f instanceof SysException e) {
                throw e;
            } else if (f instanceof RuntimeException e) {
                throw e;
            } else if (f instanceof Error e) {
                throw e;
            } else if (f != null) {
                throw new IllegalStateException(f);
            }
            return tables;
        }

        /** Waits for the start to end, either way (uninterruptibly: its tables must be known to close them). */
        void awaitQuietly() {
            fdrestore.core.runtime.Threads.joinUninterruptibly(thread);
        }
    }

    /**
     * Kills every process the restore created, with its descendants: a child that a holder forked but
     * whose pid never reached us (the exchange failed before "F pid") would otherwise outlive its parent
     * (found by the fault sweep). Runs before the tables are closed: a root holder dies with its executor
     * thread, which would orphan such a child before it could be found.
     *
     * <p>Every process is stopped before it is killed, and the listing is repeated until it finds no new
     * one: a holder that was not stopped yet may fork a queued child between a listing and the kill, but
     * a stopped one forks no more. A child orphaned before this runs (its holder died) is not found here;
     * it ends by itself, at its gate or at the end of its command pipe (see fdrestore-holder.c).
     */
    private static void killTree(List<Integer> spawned) {
        java.util.Set<Long> all = new java.util.HashSet<>();
        List<Long> fresh = new ArrayList<>();
        spawned.forEach(p -> fresh.add((long) p));
        while (!fresh.isEmpty()) {
            for (long p : fresh) {
                quietSignal((int) p, 19 /* SIGSTOP */);
            }
            for (long p : fresh) {
                awaitStopped((int) p);
            }
            all.addAll(fresh);
            fresh.clear();
            ProcessHandle.allProcesses().forEach(h -> { // one /proc scan a round, whatever the tree's size
                if (!all.contains(h.pid()) && h.parent().map(pa -> all.contains(pa.pid())).orElse(false)) {
                    fresh.add(h.pid());
                }
            });
        }
        all.removeAll(spawned.stream().map(Long::valueOf).collect(java.util.stream.Collectors.toSet()));
        for (long p : all) {
            quietKill((int) p);
        }
        for (int pid : spawned) {
            try {
                Sys.kill(pid, 9);
                Sys.waitpid(pid, 0);
            } catch (SysException ignored) {
                // already gone, or a holder's child (its parent reaps it)
            }
        }
    }

    /**
     * Turns every table into a process, as the image's tree: each root task (whose parent is not in the
     * images) is spawned from its executor thread and inherits its table; every other task is forked by
     * its parent's holder (so its parent, session, group and controlling terminal are the real ones) and
     * takes its fds from its executor thread's table with pidfd_getfd. Siblings are built session leaders
     * first, then group leaders, then the others. The forks are pipelined ({@link TreeBuilder}): each holder
     * gets the commands of several children at once, and every holder that is up works at the same time.
     */
    private List<RestoredTask> spawnAll(Map<Integer, ExecutorTaskTable> tables, List<Integer> spawned, TreeCgroup tree)
            throws RestoreException {
        Map<Integer, List<Task>> children = new LinkedHashMap<>();
        List<Task> roots = new ArrayList<>();
        for (Task t : images.tasks()) {
            if (images.task(t.ppid()).isPresent()) {
                children.computeIfAbsent(t.ppid(), k -> new ArrayList<>()).add(t);
            } else {
                roots.add(t);
            }
        }
        children.values().forEach(l -> l.sort((a, b) -> Integer.compare(rank(a), rank(b))));
        Map<Integer, Control> controls = new HashMap<>();
        for (Integer pid : children.keySet()) {
            try {
                controls.put(pid, Control.open(io.get(pid)));
            } catch (SysException e) {
                throw new RestoreException("task " + pid + ": cannot make the control pipes of the process tree: "
                        + e.getMessage(), e);
            }
        }
        starts.clear();
        for (Task t : images.tasks()) {
            if (command(t) != null) {
                try {
                    starts.put(t.pid(), io.get(t.pid()).pipe(0));
                } catch (SysException e) {
                    throw new RestoreException("task " + t.pid() + ": cannot make its start pipe: " + e.getMessage(), e);
                }
            }
        }
        Map<Integer, Integer> real = new HashMap<>();
        Map<Integer, String> commands = new HashMap<>();
        roots.sort((a, b) -> Integer.compare(rank(a), rank(b)));
        TreeBuilder builder = new TreeBuilder(tables, controls, children, serialOrder(roots, children), real, commands,
                spawned);
        this.controlsOf = controls;
        for (Task t : roots) {
            ExecutorTaskTable table = tables.get(t.pid());
            try {
                // The holder answers on a ready pipe once its fds, name and terminal are set up.
                Control ready = Control.open(io.get(t.pid()));
                List<String> argv = new ArrayList<>(holderArgv(t, real, controls.get(t.pid())));
                argv.add(3, "--ready"); // after --comm NAME, where a built child shows it too
                argv.add(4, Integer.toString(ready.replyWrite()));
                argv.addAll(5, tree.holderArgs()); // joined first of all, so that all it makes is in it
                SpawnSpec spec = rootSpec(t, argv, real, controls.get(t.pid()), ready.replyWrite());
                int pid = table.spawn(spec);
                spawned.add(pid);
                if (options.faults() != null) {
                    options.faults().spawned(t.pid(), pid);
                }
                real.put(t.pid(), pid);
                commands.put(t.pid(), display(t));
                String r = ready.line(io.get(t.pid()), REPLY_TIMEOUT_NS, pid);
                if (r == null || !r.equals("R " + pid)) {
                    throw new RestoreException("task " + t.pid() + ": its process (pid " + pid + ") did not come up: "
                            + (r != null ? describeBuildError(r) : !Processes.running(pid) ? "it died"
                            : "no answer within " + REPLY_TIMEOUT_NS / 1_000_000_000L + " s"));
                }
                // The holder closes its ready fd right after "R": a task with no children gets no release
                // that would wait for it, so wait here, or a verification may see the pipe still open.
                awaitClosed(pid, ready.replyWrite());
            } catch (SysException e) {
                throw new RestoreException("task " + t.pid() + ": cannot start its process: " + e.getMessage(), e);
            }
        }
        for (Task t : roots) {
            builder.forked(t, real.get(t.pid()));
        }
        builder.run();
        applyOwners(real);
        for (Map.Entry<Integer, Control> e : controls.entrySet()) {
            List<String> release = new ArrayList<>(List.of("release"));
            for (ProcessAction a : processActions.getOrDefault(e.getKey(), List.of())) {
                if (a instanceof ProcessAction.ForegroundGroup g && real.get(g.imagePgid()) != null) {
                    release.add(Integer.toString(real.get(g.imagePgid())));
                }
            }
            try {
                Control ctl = e.getValue();
                TaskTable table = io.get(e.getKey());
                int holder = real.get(e.getKey());
                String done = ctl.send(table, release, holder) ? ctl.line(table, REPLY_TIMEOUT_NS, holder) : null;
                if (done == null || !done.startsWith("D ")) {
                    throw new RestoreException("task " + e.getKey() + ": its holder (pid " + holder + ") did not finish "
                            + "building (" + (done != null ? done : !Processes.running(holder) ? "it died" : "no answer") + ")");
                }
                if (!done.equals("D 0")) {
                    throw new RestoreException("task " + e.getKey() + ": its holder failed after building its children"
                            + (done.equals("D 5") ? ": TIOCSPGRP (the foreground group of its tty) failed" : " (" + done + ")"));
                }
                // The holder closes its reply pipe right after "D": the table is final once it has.
                awaitClosed(holder, ctl.replyWrite());
            } catch (SysException ex) {
                throw new RestoreException("task " + e.getKey() + ": cannot release its holder: " + ex.getMessage(), ex);
            }
        }
        List<RestoredTask> out = new ArrayList<>();
        Map<Integer, Integer> pidMap = new LinkedHashMap<>();
        Map<Integer, Integer> startFds = new HashMap<>();
        for (Task t : images.tasks()) {
            // Nothing ends by itself yet: a command waits at its start pipe, a holder for ever.
            if (!Processes.running(real.get(t.pid()))) {
                throw new RestoreException("task " + t.pid() + ": its process (pid " + real.get(t.pid())
                        + ") died during the restore");
            }
            out.add(new RestoredTask(t.pid(), real.get(t.pid()), commands.get(t.pid())));
            pidMap.put(t.pid(), real.get(t.pid()));
            if (starts.containsKey(t.pid())) {
                startFds.put(real.get(t.pid()), starts.get(t.pid())[0]);
            }
        }
        if (atGate != null) {
            atGate.accept(pidMap, startFds);
        }
        for (Map.Entry<Integer, int[]> e : starts.entrySet()) {
            try {
                io.get(e.getKey()).write(e.getValue()[1], new byte[] {1}, 0, 1);
            } catch (SysException ex) {
                throw new RestoreException("task " + e.getKey() + ": cannot start its command: " + ex.getMessage(), ex);
            }
        }
        return out;
    }

    /**
     * The order in which a serial build would create the tasks (roots, then breadth first, siblings by
     * rank): a task may rely on exactly the tasks before it (the leader of a group it joins, the foreground
     * group of its tty), as it did when the tree was built one task at a time.
     */
    private static Map<Integer, Integer> serialOrder(List<Task> roots, Map<Integer, List<Task>> children) {
        Map<Integer, Integer> order = new HashMap<>();
        java.util.ArrayDeque<Task> queue = new java.util.ArrayDeque<>();
        for (Task t : roots) {
            order.put(t.pid(), order.size());
            queue.add(t);
        }
        while (!queue.isEmpty()) {
            for (Task c : children.getOrDefault(queue.poll().pid(), List.of())) {
                if (order.putIfAbsent(c.pid(), order.size()) == null) {
                    queue.add(c);
                }
            }
        }
        return order;
    }

    /** The pipes between fdrestore and one holder in builder mode, created in the task's own table. */
    private record Control(int cmdRead, int cmdWrite, int replyRead, int replyWrite, StringBuilder pending) {
        /** Both ends fdrestore keeps are non-blocking: a holder that stops reading never blocks a thread. */
        static Control open(TaskTable t) throws SysException {
            int[] cmd = t.pipe(0);
            int[] reply = t.pipe(0);
            t.fcntl(reply[0], fdrestore.core.sys.Linux.F_SETFL, fdrestore.core.sys.Linux.O_NONBLOCK);
            t.fcntl(cmd[1], fdrestore.core.sys.Linux.F_SETFL, fdrestore.core.sys.Linux.O_NONBLOCK);
            return new Control(cmd[0], cmd[1], reply[0], reply[1], new StringBuilder());
        }

        /** The holder's two ends: kept in its table (and taken by a forked child). */
        int[] holderEnds() {
            return new int[] {cmdRead, replyWrite};
        }

        /** One command: u32 length (native order), then the fields, each ended by a NUL. */
        static byte[] encode(List<String> fields) {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            for (String f : fields) {
                b.writeBytes(f.getBytes(StandardCharsets.UTF_8));
                b.write(0);
            }
            byte[] body = b.toByteArray();
            byte[] msg = new byte[4 + body.length];
            java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.nativeOrder()).putInt(body.length).put(body);
            return msg;
        }

        /**
         * Writes one command whole; false when the holder {@code holderPid} died, or took nothing for
         * {@link #REPLY_TIMEOUT_NS}, before all of it was in the pipe.
         */
        boolean send(TaskTable t, List<String> fields, int holderPid) throws SysException {
            byte[] msg = encode(fields);
            int off = 0;
            long heard = System.nanoTime();
            long nextCheck = heard + 5_000_000L;
            while (off < msg.length) {
                int n = t.write(cmdWrite, msg, off, msg.length - off);
                long now = System.nanoTime();
                if (n > 0) {
                    off += n;
                    heard = now;
                } else if (now - heard > REPLY_TIMEOUT_NS) {
                    return false;
                } else {
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    if (now > nextCheck) {
                        if (!Processes.running(holderPid)) {
                            return false;
                        }
                        nextCheck = now + 5_000_000L;
                    }
                }
            }
            return true;
        }

        /** Reads what has come on the reply pipe, without waiting; returns the byte count (0 if none yet). */
        int fill(TaskTable t, byte[] buf) throws SysException {
            int n = t.read(replyRead, buf, 0, buf.length);
            if (n <= 0) {
                return 0; // nothing yet (never end of file: the table keeps a copy of the write end)
            }
            pending.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
            return n;
        }

        /** The next whole line read so far, or null. */
        String take() {
            int nl = pending.indexOf("\n");
            if (nl < 0) {
                return null;
            }
            String l = pending.substring(0, nl);
            pending.delete(0, nl + 1);
            return l;
        }

        /**
         * The next reply line, waiting up to {@code timeoutNs}; null on time-out, or as soon as the process
         * {@code holderPid} that should answer has died (the pipe never shows EOF: its table keeps a copy of
         * the write end).
         */
        String line(TaskTable t, long timeoutNs, int holderPid) throws SysException {
            long deadline = System.nanoTime() + timeoutNs;
            long nextCheck = System.nanoTime() + 5_000_000L;
            boolean dead = false;
            byte[] buf = new byte[256];
            while (true) {
                String l = take();
                if (l != null) {
                    return l;
                }
                int n = t.read(replyRead, buf, 0, buf.length);
                if (n > 0) {
                    pending.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
                } else if (n == 0 || dead || System.nanoTime() > deadline) {
                    return null;
                } else {
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    if (System.nanoTime() > nextCheck) {
                        // one more read after the death is seen: it may have answered just before
                        dead = !Processes.running(holderPid);
                        nextCheck = System.nanoTime() + 5_000_000L;
                    }
                }
            }
        }
    }

    private static final long REPLY_TIMEOUT_NS = 20_000_000_000L;
    /** Children of one holder forked and not yet up, at most: bounds the commands in its pipe. */
    private static final int WINDOW = 64;
    /** Bytes of commands queued for one holder, at most: the capacity of a pipe. */
    private static final int BATCH_BYTES = 65536;
    /** The pause between two looks at the reply pipes when nothing came, doubling up to the maximum. */
    private static final long MIN_IDLE_NS = 200_000L;
    private static final long MAX_IDLE_NS = 1_000_000L;
    /** How long a holder with work may stay silent before its processes are checked for death. */
    private static final long QUIET_CHECK_NS = 5_000_000L;

    /**
     * Builds every non-root task, pipelined. Each holder that exists (a root, or a child whose "F" came) is
     * a {@link Parent}: it is sent the "fork" commands of its children in rank order, up to {@link #WINDOW}
     * not yet up, without waiting for the answers; its holder serves them in order once it is up and in
     * builder mode, so each "F pid" answers the oldest command without one, and each child's own "R pid"
     * (or "E ...") is matched by pid. All the holders work at once: a child's commands wait in its pipe
     * while it takes its fds, so a deep tree costs no round trip through here per level. A command is
     * sent only once every task it relies on is up (the leader of a group it joins; the foreground group
     * of its tty, if a serial build would have made it before: see {@link #serialOrder}). Every pid is in
     * {@code spawned} as soon as its "F" comes.
     */
    private final class TreeBuilder {
        private final Map<Integer, ExecutorTaskTable> tables;
        private final Map<Integer, Control> controls;
        private final Map<Integer, List<Task>> children;
        private final Map<Integer, Integer> order;
        private final Map<Integer, Integer> real;
        private final Map<Integer, String> commands;
        private final List<Integer> spawned;
        private final List<Parent> active = new ArrayList<>();
        private final byte[] buf = new byte[4096];

        TreeBuilder(Map<Integer, ExecutorTaskTable> tables, Map<Integer, Control> controls,
                    Map<Integer, List<Task>> children, Map<Integer, Integer> order, Map<Integer, Integer> real,
                    Map<Integer, String> commands, List<Integer> spawned) {
            this.tables = tables;
            this.controls = controls;
            this.children = children;
            this.order = order;
            this.real = real;
            this.commands = commands;
            this.spawned = spawned;
        }

        /**
         * Task {@code t}'s process exists (pid {@code pid}): its children's commands may be written. A child's
         * holder is given them as soon as it is forked, before it is up: they wait in its command pipe (made
         * in its task's table before the tree), and it serves them the moment it is in builder mode, with no
         * round trip through here between two levels of a deep tree. A command that relies on a task being
         * up (the leader of a group it joins) still waits for that task's "R".
         */
        void forked(Task t, int pid) {
            List<Task> kids = children.get(t.pid());
            if (kids != null && !kids.isEmpty()) {
                active.add(new Parent(t, kids, pid));
            }
        }

        void run() throws RestoreException {
            long idle = MIN_IDLE_NS;
            while (!active.isEmpty()) {
                boolean progress = false;
                long now = System.nanoTime();
                // Parents made up during the sweep (by an "R") join it at its end.
                for (int i = 0; i < active.size(); i++) {
                    Parent p = active.get(i);
                    progress |= p.write();
                    progress |= p.read();
                    if (p.busy() && now - p.heard > QUIET_CHECK_NS && now - p.checked > QUIET_CHECK_NS) {
                        p.check(now);
                    }
                }
                active.removeIf(Parent::done);
                // Every look at a pipe is a hand-off to an executor thread, which takes a core from the
                // holders: look again soon while answers come, less and less often while none does.
                idle = progress ? MIN_IDLE_NS : Math.min(2 * idle, MAX_IDLE_NS);
                // A hand-off may leave the thread's permit set, so one park can return at once.
                long until = System.nanoTime() + idle;
                for (long left = idle; !active.isEmpty() && left > 0; left = until - System.nanoTime()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(left);
                }
            }
        }

        /** A holder in builder mode and the state of its children's commands. */
        private final class Parent {
            final Task task;
            final List<Task> kids;
            final Control ctl;
            final TaskTable table;
            final int holder;
            /** The next child whose command is to be made. */
            int next;
            /** Commands made and not yet written whole: out[outOff, outLen). */
            byte[] out = new byte[4096];
            int outOff;
            int outLen;
            /** Children whose command is sent (or being sent) and whose "F" has not come, in order. */
            final java.util.ArrayDeque<Task> unforked = new java.util.ArrayDeque<>();
            /** Children forked (real pid known) whose "R" or "E" has not come: pid -> child, in fork order. */
            final Map<Integer, Task> coming = new LinkedHashMap<>();
            /** "R"/"E" lines read before the "F" of their pid (the child may answer before its parent). */
            final Map<Integer, String> early = new HashMap<>();
            /** When the holder last took bytes or answered; when its processes were last checked. */
            long heard = System.nanoTime();
            long checked;

            Parent(Task task, List<Task> kids, int holder) {
                this.task = task;
                this.kids = kids;
                this.ctl = controls.get(task.pid());
                this.table = io.get(task.pid());
                this.holder = holder;
            }

            boolean busy() {
                return !unforked.isEmpty() || !coming.isEmpty();
            }

            boolean done() {
                return next == kids.size() && !busy();
            }

            /** The child an error names when no single child is at fault: the oldest one not up. */
            Task oldest() {
                if (!unforked.isEmpty()) {
                    return unforked.peek();
                }
                return coming.isEmpty() ? kids.get(Math.max(0, next - 1)) : coming.values().iterator().next();
            }

            private RestoreException talking(Task c, SysException e) {
                return new RestoreException("task " + c.pid() + ": talking to the holder of task " + task.pid() + ": "
                        + e.getMessage(), e);
            }

            /**
             * Queues every command that the window and the tasks it relies on allow, then writes as much of
             * the queue as the pipe takes, in one call; true if any byte went out.
             */
            boolean write() throws RestoreException {
                while (next < kids.size() && unforked.size() + coming.size() < WINDOW && outLen - outOff < BATCH_BYTES) {
                    Task c = kids.get(next);
                    List<String> msg = command(task, c);
                    if (msg == null) {
                        break; // it needs a task that is not up yet; its younger siblings wait too
                    }
                    byte[] m = Control.encode(msg);
                    if (outOff == outLen) {
                        outOff = 0;
                        outLen = 0;
                    }
                    if (outLen + m.length > out.length) {
                        byte[] b = new byte[Math.max(2 * out.length, outLen - outOff + m.length)];
                        System.arraycopy(out, outOff, b, 0, outLen - outOff);
                        out = b;
                        outLen -= outOff;
                        outOff = 0;
                    }
                    System.arraycopy(m, 0, out, outLen, m.length);
                    outLen += m.length;
                    unforked.add(c);
                    next++;
                }
                if (outOff == outLen) {
                    return false;
                }
                int n;
                try {
                    n = table.write(ctl.cmdWrite(), out, outOff, Math.min(outLen - outOff, BATCH_BYTES));
                } catch (SysException e) {
                    throw talking(unforked.peek(), e);
                }
                if (n <= 0) {
                    return false; // the pipe is full: the holder is busy forking
                }
                heard = System.nanoTime();
                outOff += n;
                return true;
            }

            /** Handles every reply line that has come; true if there was one. */
            boolean read() throws RestoreException {
                boolean any = false;
                while (true) {
                    int n;
                    try {
                        n = ctl.fill(table, buf);
                    } catch (SysException e) {
                        throw talking(oldest(), e);
                    }
                    for (String l = ctl.take(); l != null; l = ctl.take()) {
                        any = true;
                        heard = System.nanoTime();
                        handle(l);
                    }
                    if (n < buf.length) {
                        return any;
                    }
                }
            }

            private void handle(String l) throws RestoreException {
                String[] f = l.split(" ");
                int pid;
                try {
                    pid = f.length >= 2 ? Integer.parseInt(f[1]) : 0;
                } catch (NumberFormatException e) {
                    pid = 0;
                }
                if (f[0].equals("F") && f.length >= 3 && pid != 0 && !unforked.isEmpty()) {
                    Task c = unforked.poll();
                    if (pid < 0) {
                        throw new RestoreException("task " + c.pid() + ": fork in the holder of task " + task.pid()
                                + " failed: " + fdrestore.core.sys.Errno.describe(Integer.parseInt(f[2])));
                    }
                    spawned.add(pid);
                    coming.put(pid, c);
                    forked(c, pid);
                    String first = early.remove(pid);
                    if (first != null) {
                        ready(pid, first);
                    }
                } else if ((f[0].equals("R") || f[0].equals("E")) && pid > 0) {
                    if (coming.containsKey(pid)) {
                        ready(pid, l);
                    } else {
                        early.put(pid, l);
                    }
                } else {
                    throw new RestoreException("task " + oldest().pid() + ": unexpected answer from the holder of task "
                            + task.pid() + ": " + l);
                }
            }

            /** Child {@code pid} answered {@code line}: it is up ("R"), or it failed ("E"). */
            private void ready(int pid, String line) throws RestoreException {
                Task c = coming.remove(pid);
                if (!line.startsWith("R ")) {
                    quietKill(pid);
                    throw new RestoreException("task " + c.pid() + ": its process (pid " + pid + ") could not take its fds: "
                            + describeBuildError(line));
                }
                if (options.faults() != null) {
                    options.faults().spawned(c.pid(), pid);
                }
                real.put(c.pid(), pid);
                commands.put(c.pid(), display(c));
            }

            /** The holder has been quiet with work outstanding: fails if it or a child being built died. */
            void check(long now) throws RestoreException {
                checked = now;
                if (!Processes.running(holder)) {
                    read(); // one more read after the death is seen: it may have answered just before
                    if (busy()) {
                        throw new RestoreException("task " + oldest().pid() + ": the holder of task " + task.pid()
                                + " (pid " + holder + ") died");
                    }
                    return;
                }
                for (Map.Entry<Integer, Task> e : new ArrayList<>(coming.entrySet())) {
                    if (!Processes.running(e.getKey())) {
                        read();
                        if (coming.containsKey(e.getKey())) {
                            throw new RestoreException("task " + e.getValue().pid() + ": its process (pid " + e.getKey()
                                    + ") died before it had taken its fds");
                        }
                    }
                }
                if (busy() && now - heard > REPLY_TIMEOUT_NS) {
                    Task c = oldest();
                    throw new RestoreException("task " + c.pid() + ": " + (unforked.isEmpty()
                            ? "its process (pid " + coming.keySet().iterator().next() + ")"
                            : "the holder of task " + task.pid() + " (pid " + holder + ")")
                            + " did not answer within " + REPLY_TIMEOUT_NS / 1_000_000_000L + " s");
                }
            }
        }

        /**
         * The "fork" command that makes task {@code c} a child of {@code parent}'s holder; null while a task
         * it relies on is not up yet.
         */
        private List<String> command(Task parent, Task c) throws RestoreException {
            int mine = order.get(c.pid());
            String mode;
            int pgid = 0;
            if (c.sessionLeader()) {
                mode = "s";
            } else if (c.sid() != parent.sid()) {
                throw new RestoreException("task " + c.pid() + " is in session " + c.sid() + " but its parent " + parent.pid()
                        + " is in session " + parent.sid() + ": a child can only be in its parent's session or lead its own");
            } else if (c.groupLeader()) {
                mode = "g";
            } else if (c.pgid() == parent.pgid()) {
                mode = "n";
            } else {
                Integer at = order.get(c.pgid());
                if (at == null || at > mine) {
                    throw new RestoreException("task " + c.pid() + " joins process group " + c.pgid()
                            + ", whose leader is not restored before it");
                }
                Integer leader = real.get(c.pgid());
                if (leader == null) {
                    return null;
                }
                mode = "j";
                pgid = leader;
            }
            for (ProcessAction a : processActions.getOrDefault(c.pid(), List.of())) {
                if (a instanceof ProcessAction.ForegroundGroup g && g.imagePgid() != c.pid()) {
                    Integer at = order.get(g.imagePgid());
                    if (at != null && at < mine && !real.containsKey(g.imagePgid())) {
                        return null;
                    }
                }
            }
            ExecutorTaskTable ct = tables.get(c.pid());
            Control own = controls.get(c.pid());
            StringBuilder fds = new StringBuilder();
            for (Fd fd : c.fds()) {
                fds.append(fds.length() == 0 ? "" : ",").append(fd.fd());
            }
            if (own != null) {
                for (int fd : own.holderEnds()) {
                    fds.append(fds.length() == 0 ? "" : ",").append(fd);
                }
            }
            for (int fd : sharersEnds(c)) {
                fds.append(fds.length() == 0 ? "" : ",").append(fd);
            }
            if (starts.containsKey(c.pid())) {
                fds.append(fds.length() == 0 ? "" : ",").append(starts.get(c.pid())[0]);
            }
            // TID 0: the child shares its parent's table (CLONE_FILES) instead of taking one of its own
            List<String> msg = new ArrayList<>(List.of("fork", ct == null ? "0" : Integer.toString(ct.tid()), mode,
                    Integer.toString(pgid), fds.toString()));
            msg.addAll(holderArgv(c, before(mine), own));
            return msg;
        }

        /** {@code real} as a serial build would have had it before the task at {@code limit} in its order. */
        private Map<Integer, Integer> before(int limit) {
            return new java.util.AbstractMap<>() {
                @Override
                public Integer get(Object k) {
                    Integer at = order.get(k);
                    return at != null && at < limit ? real.get(k) : null;
                }

                @Override
                public boolean containsKey(Object k) {
                    return get(k) != null;
                }

                @Override
                public java.util.Set<Map.Entry<Integer, Integer>> entrySet() {
                    java.util.Set<Map.Entry<Integer, Integer>> s = new java.util.LinkedHashSet<>();
                    real.forEach((k, v) -> {
                        if (get(k) != null) {
                            s.add(Map.entry(k, v));
                        }
                    });
                    return s;
                }
            };
        }
    }

    /** kill(pid, sig), for a process that may be gone already. */
    private static void quietSignal(int pid, int sig) {
        try {
            Sys.kill(pid, sig);
        } catch (SysException gone) {
            // gone already
        }
    }

    /** Waits, up to 2 s, until fd {@code fd} of process {@code pid} is closed (or the process is gone). */
    private static void awaitClosed(int pid, int fd) {
        Path p = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (java.nio.file.Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000);
        }
    }

    /** Waits, up to 2 s, until process {@code pid} is stopped or gone. */
    private static void awaitStopped(int pid) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                String st = java.nio.file.Files.readString(Path.of("/proc/" + pid + "/stat"));
                char state = st.charAt(st.lastIndexOf(')') + 2);
                if (state == 'T' || state == 't' || state == 'Z' || state == 'X') {
                    return;
                }
            } catch (java.io.IOException | RuntimeException e) {
                return;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
    }

    /** The task whose fd table task {@code t} uses: itself, or the first task of the images sharing it. */
    private int tableOwner(Task t) {
        return owners.getOrDefault(t.pid(), t.pid());
    }

    /** True when some task of the images is a child of task {@code t}. */
    private boolean hasChildren(Task t) {
        return parents.contains(t.pid());
    }

    /** True when task {@code t} shares its fd table with another task of the images (CLONE_FILES). */
    private boolean sharesTable(Task t) {
        return tableOwner(t) != t.pid() || sharersOf.containsKey(t.pid());
    }

    /**
     * The control pipe ends of the tasks that share {@code t}'s table, when {@code t} owns it: they are made
     * in its table and must be there when each sharer is cloned from its parent.
     */
    private List<Integer> sharersEnds(Task t) {
        List<Integer> out = new ArrayList<>();
        for (int pid : sharersOf.getOrDefault(t.pid(), List.of())) {
            Control c = controlsOf.get(pid);
            if (c != null) {
                for (int fd : c.holderEnds()) {
                    out.add(fd);
                }
            }
        }
        return out;
    }

    /**
     * The working directory task {@code t} had, as an absolute path of the image's file system: from
     * fs-PID.img (the cwd's file entry), else from fdr-task.img; null when neither records one.
     */
    private String recordedCwd(Task t) {
        return recordedCwd(images, t);
    }

    /** {@link #recordedCwd(Task)} of task {@code t} of {@code images}. */
    static String recordedCwd(ImageSet images, Task t) {
        if (t.fs() != null) {
            FileEntry e = images.file(Integer.toUnsignedLong(t.fs().getCwdId())).orElse(null);
            if (e != null && e.hasReg() && e.getReg().hasName()) {
                return e.getReg().getName();
            }
        }
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        return fdr != null && fdr.hasCwd() ? fdr.getCwd().toString(StandardCharsets.UTF_8) : null;
    }

    /**
     * The recorded cwd of task {@code t} when it is missing (or not a directory) under the root, else null.
     * Resolved as the holder resolves it: ".." never goes above the root (lexically here; the holder uses
     * openat2 RESOLVE_IN_ROOT, which also keeps symbolic links inside).
     */
    private String missingCwd(Task t) {
        String cwd = recordedCwd(t);
        if (cwd == null) {
            return null;
        }
        Path under = options.root().resolve(Path.of("/").resolve(cwd).normalize().toString().substring(1));
        return java.nio.file.Files.isDirectory(under) ? null : cwd;
    }

    /** True when task {@code t} runs the holder, which never ends by itself, rather than a recorded command. */
    private boolean runsHolder(Task t) {
        return command(t) == null;
    }

    /**
     * The command task {@code t} runs, as its images record it (argv, env, cwd); null when it runs the
     * holder: with --hold, when nothing is recorded, and when what is recorded is a holder's own command
     * line (images dumped from a restored tree by an older fdrestore: that line names fds of a restore
     * that is over, into which the holder would write).
     */
    private FdrTaskEntry command(Task t) {
        if (!options.launch().exec() || options.forceHolder() || sharesTable(t) || hasChildren(t)) {
            // An exec would unshare a shared table: its tasks always hold. A task with children in the
            // images holds too: its command would start them again, beside the restored ones.
            return null;
        }
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        if (fdr == null || fdr.getArgvCount() == 0 || Holder.isHolder(fdr.getArgv(0).toString(StandardCharsets.UTF_8))
                || !execd(t)) {
            return null;
        }
        return fdr;
    }

    /**
     * True when task {@code t} exec'd a program of its own, so that running its recorded command is what
     * it was doing (with {@link Launch#exec} it then runs it, unless it has children in the images or shares
     * its fd table): as the dump recorded it (fdr-task.img's {@code execd}, see the Dumper), or, for images
     * of an older dump, when its recorded command line differs from its parent's (a task whose parent is
     * not in the images always counts as exec'd). A forked child that never exec'd runs the holder: its
     * command line is its parent's, and running it would start the parent's program a second time.
     */
    public boolean execd(Task t) {
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        if (fdr == null || fdr.getArgvCount() == 0) {
            return false;
        }
        if (fdr.hasExecd()) {
            return fdr.getExecd();
        }
        FdrTaskEntry parent = images.task(t.ppid()).flatMap(p -> images.fdrTask(p.pid())).orElse(null);
        return parent == null || !parent.getArgvList().equals(fdr.getArgvList());
    }

    /** The number of tasks that run their recorded command in this restore (0 without {@link Launch#exec}). */
    public int commandsToRun() {
        int n = 0;
        for (Task t : images.tasks()) {
            n += command(t) != null ? 1 : 0;
        }
        return n;
    }

    private static void quietKill(int pid) {
        quietSignal(pid, 9);
    }

    private static String describeBuildError(String line) {
        String[] p = line.split(" ");
        if (p.length < 4 || !p[0].equals("E")) {
            return line;
        }
        String step = switch (p[2]) {
            case "1" -> "setsid/setpgid";
            case "2" -> "pidfd_open(PIDFD_THREAD)";
            case "3" -> "pidfd_getfd";
            case "4", "5" -> "placing an fd";
            case "6" -> "exec of the holder";
            case "7" -> "entering its recorded cwd under the root";
            case "8" -> "setting its umask or signal mask";
            case "9" -> "joining the restore's cgroup";
            case "10" -> "taking a file lock or lease (--lock)";
            default -> "step " + p[2];
        };
        return step + " failed: " + fdrestore.core.sys.Errno.describe(Integer.parseInt(p[3]));
    }

    /**
     * Sets the owners (F_SETOWN) that are tasks or groups of the tree, now that every process exists:
     * through the task's executor table, which holds the same open file descriptions as the process.
     */
    private void applyOwners(Map<Integer, Integer> real) throws RestoreException {
        for (Task t : images.tasks()) {
            for (ProcessAction a : processActions.getOrDefault(t.pid(), List.of())) {
                if (!(a instanceof ProcessAction.Owner o)) {
                    continue;
                }
                Integer pid = real.get(o.imagePid());
                String what = "task " + t.pid() + " fd " + o.fd() + ": its owner (F_SETOWN) "
                        + (o.group() ? "process group " : "task ") + o.imagePid();
                if (pid == null) {
                    throw new RestoreException(what + " is not a restored process");
                }
                try {
                    io.get(t.pid()).fcntl(o.fd(), fdrestore.core.sys.Linux.F_SETOWN, o.group() ? -pid : pid);
                } catch (SysException e) {
                    throw new RestoreException(what + " (pid " + pid + "): " + e.getMessage(), e);
                }
            }
        }
    }

    private String display(Task t) {
        FdrTaskEntry fdr = command(t);
        if (fdr != null) {
            List<String> a = new ArrayList<>();
            fdr.getArgvList().forEach(x -> a.add(x.toString(StandardCharsets.UTF_8)));
            return String.join(" ", a);
        }
        return "holder (" + (t.comm() != null ? t.comm() : "fdrestore-hold") + ")";
    }

    private static int rank(Task t) {
        return t.sessionLeader() ? 0 : t.groupLeader() ? 1 : 2;
    }

    /** The holder's command line for task {@code t}: name, ctty, control, fg, cloexec, then its command. */
    private List<String> holderArgv(Task t, Map<Integer, Integer> real, Control control) throws RestoreException {
        FdrTaskEntry fdr = command(t);
        List<String> argv = new ArrayList<>();
        argv.add(options.holder());
        argv.add("--comm");
        argv.add(t.comm() != null ? t.comm() : "fdrestore-hold");
        String cwd = recordedCwd(t);
        if (cwd != null) {
            argv.add("--root");
            argv.add(options.root().toString());
            argv.add("--cwd");
            argv.add(missingCwd(t) != null ? "/" : cwd); // missing: --cwd-fallback was given (else plan failed)
        }
        if (t.fs() != null && t.fs().hasUmask()) {
            argv.add("--umask");
            argv.add(Integer.toOctalString(t.fs().getUmask()));
        }
        if (fdr == null && images.blockedSignals(t.pid()) != 0) {
            argv.add("--sigmask");
            argv.add(Long.toHexString(images.blockedSignals(t.pid())));
        }
        String fg = null;
        for (ProcessAction a : processActions.getOrDefault(t.pid(), List.of())) {
            if (a instanceof ProcessAction.ControllingTerminal c) {
                argv.add("--ctty");
                argv.add(Integer.toString(c.fd()));
            } else if (a instanceof ProcessAction.ControllingTerminalPath c) {
                argv.add("--ctty-path");
                argv.add(c.path());
            } else if (a instanceof ProcessAction.ReopenControllingTty r) {
                StringBuilder fds = new StringBuilder();
                r.fds().forEach(fd -> fds.append(fds.length() == 0 ? "" : ",").append(fd));
                argv.add("--reopen-tty");
                argv.add(fds + ":" + r.flags());
            } else if (a instanceof ProcessAction.ForegroundGroup g) {
                if (g.imagePgid() != t.pid() && images.task(g.imagePgid()).isEmpty()) {
                    throw new RestoreException("task " + t.pid() + ": the foreground group " + g.imagePgid()
                            + " of its tty (fd " + g.fd() + ") has no leader in the images");
                }
                fg = g.fd() + ":" + g.imagePgid();
            }
        }
        if (control != null) {
            argv.add("--control");
            argv.add(control.cmdRead() + ":" + control.replyWrite());
        }
        if (fg != null) {
            // The group's real id is known once its leader exists: fg groups are resolved at release, so
            // only the leader's own group (0) or a group built before this holder is named here.
            String[] f = fg.split(":");
            int imagePgid = Integer.parseInt(f[1]);
            Integer pg = imagePgid == t.pid() ? Integer.valueOf(0) : real.get(imagePgid);
            argv.add("--fg");
            argv.add(f[0] + ":" + (pg == null ? "0" : pg.toString()));
        }
        StringBuilder cloexec = new StringBuilder();
        for (Fd fd : t.fds()) {
            if (fd.cloexec() && tableOwner(t) == t.pid()) { // a sharer's flags are its owner's to set
                cloexec.append(cloexec.length() == 0 ? "" : ",").append(fd.fd());
            }
        }
        if (cloexec.length() > 0) {
            argv.add("--cloexec");
            argv.add(cloexec.toString());
        }
        for (ProcessAction a : processActions.getOrDefault(t.pid(), List.of())) {
            if (a instanceof ProcessAction.FileLock l) {
                argv.add("--lock");
                argv.add(l.fd() + ":" + l.flag() + ":" + l.type() + ":" + l.start() + ":" + l.len());
            }
        }
        if (fdr != null) {
            // A task built by its parent's holder inherits that holder's environment and directory:
            // give the command its own, as recorded.
            fdr.getEnvList().forEach(e -> {
                argv.add("--env");
                argv.add(e.toString(StandardCharsets.UTF_8));
            });
            if (options.launch().listenFds() && !t.fds().isEmpty()) {
                StringBuilder all = new StringBuilder();
                t.fds().forEach(fd -> all.append(all.length() == 0 ? "" : ",").append(fd.fd()));
                argv.add("--listen-fds");
                argv.add(all.toString());
            }
            argv.add("--start");
            argv.add(Integer.toString(starts.get(t.pid())[0]));
            argv.add("--exec");
            fdr.getArgvList().forEach(a -> argv.add(a.toString(StandardCharsets.UTF_8)));
        }
        return argv;
    }

    /** How a root task is spawned from its executor: setsid, group, env and cwd of its command. */
    private SpawnSpec rootSpec(Task t, List<String> argv, Map<Integer, Integer> real, Control control, int readyFd) {
        FdrTaskEntry fdr = command(t);
        List<String> env = List.of("PATH=/usr/bin:/bin");
        String chdir = options.workDir() != null ? options.workDir().toString() : null;
        if (fdr != null) {
            List<String> e = new ArrayList<>();
            fdr.getEnvList().forEach(a -> e.add(a.toString(StandardCharsets.UTF_8)));
            env = e;
        }
        SpawnSpec.Builder b = SpawnSpec.builder(options.holder()).argv(argv).envp(env);
        if (chdir != null) {
            b.chdir(chdir);
        }
        int[] keep = t.fds().stream().mapToInt(Fd::fd).toArray();
        int[] k = java.util.Arrays.copyOf(keep, keep.length + (control != null ? 3 : 1));
        k[keep.length] = readyFd;
        if (control != null) {
            k[keep.length + 1] = control.cmdRead();
            k[keep.length + 2] = control.replyWrite();
        }
        List<Integer> more = new ArrayList<>(sharersEnds(t));
        if (starts.containsKey(t.pid())) {
            more.add(starts.get(t.pid())[0]);
        }
        keep = java.util.stream.IntStream.concat(java.util.Arrays.stream(k), more.stream().mapToInt(i -> i)).toArray();
        b.keep(keep);
        if (t.sessionLeader()) {
            b.setsid(true);
        } else {
            // A root outside its session's leader: it keeps fdrestore's session, in a group of its own.
            b.pgroup(t.groupLeader() || real.get(t.pgid()) == null ? 0 : real.get(t.pgid()));
        }
        return b.build();
    }
}
