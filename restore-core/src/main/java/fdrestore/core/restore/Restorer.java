package fdrestore.core.restore;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.Journal;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.SysException;
import fdrestore.core.engine.Engine;
import fdrestore.core.engine.Progress;
import fdrestore.core.fault.FaultInjectingTable;
import fdrestore.core.fault.FaultPlan;
import fdrestore.core.process.ProcessTree;
import fdrestore.core.process.TreeKiller;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.SpawnSpec;
import fdrestore.core.runtime.TaskRuntime;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * One restore, end to end: plan every file with its plugin (before any syscall, {@link Planner}), start
 * one private fd table per task, run the engine, then turn every table into a process ({@link ProcessTree}).
 * On any failure every table is dropped (the kernel closes every fd in it, including fds in flight in its
 * transport socket) and every spawned process is killed, so nothing is left half-restored.
 */
public final class Restorer {
    private final ImageSet images;
    private final Map<FdType, FileKind> kinds;
    private final Supplier<Transport> transports;
    private final Options options;
    private final TaskLaunches launches;
    private Progress progress = Progress.NONE;
    /** The processes and the cgroup of the restore under way, for {@link #stopProcesses} from another thread. */
    private volatile List<Integer> liveSpawned = List.of();
    private volatile TreeCgroup liveTree;
    /** Called once the tree is built, before any command starts (real pid map, real pid -> start fd). */
    private BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> atGate;

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
        this.kinds = Planner.byType(kinds);
        this.transports = transports;
        this.options = options;
        this.launches = new TaskLaunches(images, options);
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
    public Restorer atGate(BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> check) {
        this.atGate = check;
        return this;
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

    private Journal journal = Journal.NONE;

    /** Where plugins record the files they make before making them (none by default; see RunJournal). */
    public Restorer journal(Journal j) {
        this.journal = j == null ? Journal.NONE : j;
        return this;
    }

    /**
     * Plans this restore without running it: the external files, the kinds' plans and the engine's masters,
     * dependencies and cycle check, with no syscall, no thread and no process (a dump's self-check of the
     * set it wrote). Fails as {@link #run} would before its first syscall.
     */
    public void planOnly() throws RestoreException {
        Planner planner = new Planner(images, kinds, options, inherit, launches);
        planner.checkExternal();
        RestorePlan planned = planner.plan();
        Engine.Builder b = Engine.builder(null).root(options.root());
        options.pluginOptions().forEach(b::option);
        for (Task t : images.tasks()) {
            if (launches.tableOwner(t) == t.pid()) {
                b.table(planOnlyTable(t.pid()));
            }
        }
        for (RestorePlan.Planned p : planned.files()) {
            b.file(p.info(), p.kindName(), p.restorer());
        }
        b.build();
    }

    /** A table that only knows its pid: any call is a bug of the plan-only path. */
    private static TaskTable planOnlyTable(int pid) {
        return (TaskTable) java.lang.reflect.Proxy.newProxyInstance(TaskTable.class.getClassLoader(),
                new Class<?>[] {TaskTable.class}, (proxy, m, args) -> switch (m.getName()) {
                    case "pid" -> pid;
                    case "toString" -> "plan-only table of task " + pid;
                    case "hashCode" -> pid;
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException("plan only: no " + m.getName() + " call");
                });
    }

    /** Where to report phases and engine progress (none by default). */
    public Restorer progress(Progress p) {
        this.progress = p == null ? Progress.NONE : p;
        return this;
    }

    /** Maps fd types to kinds; two kinds claiming one type is an error. */
    public static Map<FdType, FileKind> byType(Collection<? extends FileKind> kinds) throws RestoreException {
        return Planner.byType(kinds);
    }

    /** A transport name was taken (a squatter, or a concurrent restore with the same run id). */
    private static final class Collision extends Exception {
        private static final long serialVersionUID = 1L;

        Collision(RestoreException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * Runs the restore. On failure nothing is left: no fd, no process, no fd in flight. A transport name
     * that is already taken is detected and the restore starts again with a new run id (three tries).
     */
    public Result run() throws RestoreException {
        Collision last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return runOnce();
            } catch (Collision e) {
                last = e;
            }
        }
        throw new RestoreException("transport names kept colliding after 3 run ids: " + last.getMessage(),
                last.getCause());
    }

    private Result runOnce() throws RestoreException, Collision {
        long t0 = System.nanoTime();
        Capacity.check(images.tasks().size());
        Planner planner = new Planner(images, kinds, options, inherit, launches);
        planner.checkExternal();
        // One table per fd table of the images: tasks that share one (CLONE_FILES) share its owner's.
        List<Task> tasks = images.tasks().stream().filter(t -> launches.tableOwner(t) == t.pid()).toList();
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
        RestorePlan planned;
        try {
            planned = planner.plan();
        } catch (RestoreException | RuntimeException | Error e) {
            starting.awaitQuietly();
            runtime.close();
            throw e;
        }
        long t1 = System.nanoTime();
        List<Integer> spawned = Collections.synchronizedList(new ArrayList<>());
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
            Map<Integer, TaskTable> io = new HashMap<>();
            tables.forEach((pid, t) -> io.put(pid, options.faults() == null ? t
                    : new FaultInjectingTable(t, options.faults())));
            List<TaskTable> engineTables = new ArrayList<>(io.values());
            for (Task t : images.tasks()) {
                io.putIfAbsent(t.pid(), io.get(launches.tableOwner(t))); // a sharer calls its owner's table
            }
            progress.phase("engine");
            Engine.Builder b = Engine.builder(transport = transports.get()).tables(engineTables)
                    .root(options.root()).workers(options.workers()).progress(progress).journal(journal);
            options.pluginOptions().forEach(b::option);
            for (RestorePlan.Planned p : planned.files()) {
                b.file(p.info(), p.kindName(), p.restorer());
            }
            Engine engine = b.build();
            try {
                long ns = engine.run();
                t2 = System.nanoTime() - ns;
            } catch (RestoreException ex) {
                if (ex.getCause() instanceof Transport.NameTaken) {
                    throw new Collision(ex);
                }
                throw ex;
            }
            long t3 = System.nanoTime();
            progress.phase("processes");
            List<RestoredTask> restored = new ArrayList<>();
            ProcessTree processes = new ProcessTree(planned, options.holder(), options.root(), options.workDir(),
                    options.launch().listenFds()).atGate(atGate).beforeRelease(() -> progress.phase("release"));
            if (options.faults() != null) {
                processes.onSpawned(options.faults()::spawned);
            }
            for (ProcessTree.Built t : processes.build(tables, io, spawned, tree.holderArgs())) {
                restored.add(new RestoredTask(t.imagePid(), t.pid(), t.command()));
            }
            long t4 = System.nanoTime();
            ok = true;
            return new Result(restored, t1 - t0, t2 - t1, t3 - t2, t4 - t3, transport.dropped(), fds, tree);
        } catch (RestoreException e) {
            planned.abortAll(e);
            throw e;
        } catch (RuntimeException | Error e) {
            planned.abortAll(e);
            throw e;
        } finally {
            if (!ok) {
                TreeKiller.killTree(spawned);
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

    /** True when task {@code t} exec'd a program of its own (see {@link TaskLaunches#execd}). */
    public boolean execd(Task t) {
        return launches.execd(t);
    }

    /** The number of tasks that run their recorded command in this restore (0 without {@link Launch#exec}). */
    public int commandsToRun() {
        return launches.commandsToRun();
    }
}
