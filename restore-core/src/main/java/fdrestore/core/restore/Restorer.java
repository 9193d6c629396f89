package fdrestore.core.restore;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
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
    /** Per task (image pid), what it must do as it becomes a process; filled by plan(). */
    private final Map<Integer, List<ProcessAction>> processActions = new HashMap<>();

    /** What a restore may be asked to do. */
    public record Options(Path root, Map<String, String> pluginOptions, String holder, boolean forceHolder,
                          int workers) {
        public Options {
            pluginOptions = Map.copyOf(pluginOptions);
        }

        public static Options defaults(String holder) {
            return new Options(Path.of("/"), Map.of(), holder, false, 0);
        }

        public Options withRoot(Path r) {
            return new Options(r, pluginOptions, holder, forceHolder, workers);
        }
    }

    /** A restored task: its image pid and the real pid of the process now holding its fds. */
    public record RestoredTask(int imagePid, int pid, String command) {
    }

    /** The outcome: the pid mapping in pstree order, phase durations (ns) and transport figures. */
    public record Result(List<RestoredTask> tasks, long planNs, long tablesNs, long engineNs, long spawnNs,
                         long droppedMessages, int fds) {
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
        };
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
        Map<Long, Long> tableOwner = new HashMap<>();
        for (Task t : images.tasks()) {
            Long prev = tableOwner.putIfAbsent(t.filesId(), (long) t.pid());
            if (prev != null) {
                problems.add("tasks " + prev + " and " + t.pid() + " share one fd table (files_id " + t.filesId()
                        + ", CLONE_FILES): not supported");
            }
        }
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            FileEntry entry = images.file(e.getKey()).orElseThrow();
            List<FleInfo> fles = new ArrayList<>();
            for (FdRef r : e.getValue()) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            Fd first = e.getValue().get(0).fd();
            FdType type = first.type();
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
            throw new RestoreException(problems.size() == 1 ? problems.get(0)
                    : problems.size() + " files cannot be restored:\n  - " + String.join("\n  - ", problems));
        }
        return out;
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
        List<Planned> planned = plan();
        long t1 = System.nanoTime();
        TaskRuntime runtime = new TaskRuntime();
        List<Integer> spawned = new ArrayList<>();
        Transport transport = null;
        boolean ok = false;
        try {
            Map<Integer, ExecutorTaskTable> tables = new LinkedHashMap<>();
            int fds = 0;
            try {
                for (Task t : images.tasks()) {
                    int floor = 3;
                    for (Fd fd : t.fds()) {
                        floor = Math.max(floor, fd.fd() + 1);
                    }
                    fds += t.fds().size();
                    tables.put(t.pid(), runtime.start(t.pid(), floor));
                }
            } catch (SysException e) {
                throw new RestoreException("cannot start a task's fd table: " + e.getMessage(), e);
            }
            long t2 = System.nanoTime();
            Engine.Builder b = Engine.builder(transport = transports.get()).tables(tables.values())
                    .root(options.root()).workers(options.workers());
            options.pluginOptions().forEach(b::option);
            for (Planned p : planned) {
                b.file(p.info, p.kind.name(), p.restorer);
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
            List<RestoredTask> restored = spawnAll(tables, spawned);
            long t4 = System.nanoTime();
            ok = true;
            return new Result(restored, t1 - t0, t2 - t1, t3 - t2, t4 - t3, transport.dropped(), fds);
        } finally {
            if (transport != null) {
                transport.close();
            }
            runtime.close();
            if (!ok) {
                for (int pid : spawned) {
                    try {
                        Sys.kill(pid, 9);
                        Sys.waitpid(pid, 0);
                    } catch (SysException ignored) {
                        // already gone
                    }
                }
            }
        }
    }

    /**
     * Turns every table into a process: session leaders first (setsid), then group leaders, then the
     * others (joining their group when it is in the JVM's session). Every task runs its command from the
     * fdrestore task image, or the holder, which keeps the fds until it is signalled.
     */
    private List<RestoredTask> spawnAll(Map<Integer, ExecutorTaskTable> tables, List<Integer> spawned)
            throws RestoreException {
        List<Task> order = new ArrayList<>(images.tasks());
        order.sort((a, b) -> Integer.compare(rank(a), rank(b)));
        Map<Integer, Integer> real = new HashMap<>();
        Map<Integer, String> commands = new HashMap<>();
        for (Task t : order) {
            SpawnSpec spec = spec(t, real);
            try {
                int pid = tables.get(t.pid()).spawn(spec);
                spawned.add(pid);
                real.put(t.pid(), pid);
                commands.put(t.pid(), String.join(" ", spec.argv()));
            } catch (SysException e) {
                throw new RestoreException("task " + t.pid() + ": cannot start its process: " + e.getMessage(), e);
            }
        }
        List<RestoredTask> out = new ArrayList<>();
        for (Task t : images.tasks()) {
            out.add(new RestoredTask(t.pid(), real.get(t.pid()), commands.get(t.pid())));
        }
        return out;
    }

    private static int rank(Task t) {
        return t.sessionLeader() ? 0 : t.groupLeader() ? 1 : 2;
    }

    private SpawnSpec spec(Task t, Map<Integer, Integer> real) throws RestoreException {
        int[] keep = t.fds().stream().mapToInt(Fd::fd).toArray();
        FdrTaskEntry fdr = options.forceHolder() ? null : images.fdrTask(t.pid()).orElse(null);
        List<String> argv = new ArrayList<>();
        argv.add(options.holder());
        argv.add("--comm");
        argv.add(t.comm() != null ? t.comm() : "fdrestore-hold");
        for (ProcessAction a : processActions.getOrDefault(t.pid(), List.of())) {
            if (a instanceof ProcessAction.ControllingTerminal c) {
                argv.add("--ctty");
                argv.add(Integer.toString(c.fd()));
            } else if (a instanceof ProcessAction.ForegroundGroup g) {
                Integer pgrp = g.imagePgid() == t.pid() ? null : real.get(g.imagePgid());
                if (g.imagePgid() != t.pid() && pgrp == null) {
                    throw new RestoreException("task " + t.pid() + ": the foreground group " + g.imagePgid()
                            + " of its tty (fd " + g.fd() + ") has no restored leader yet");
                }
                argv.add("--fg");
                argv.add(g.fd() + ":" + (pgrp == null ? "0" : pgrp.toString()));
            }
        }
        StringBuilder cloexec = new StringBuilder();
        for (Fd fd : t.fds()) {
            if (fd.cloexec()) {
                cloexec.append(cloexec.length() == 0 ? "" : ",").append(fd.fd());
            }
        }
        if (cloexec.length() > 0) {
            argv.add("--cloexec");
            argv.add(cloexec.toString());
        }
        List<String> env = List.of("PATH=/usr/bin:/bin");
        String chdir = null;
        if (fdr != null && fdr.getArgvCount() > 0) {
            argv.add("--exec");
            fdr.getArgvList().forEach(a -> argv.add(a.toString(StandardCharsets.UTF_8)));
            List<String> e = new ArrayList<>();
            fdr.getEnvList().forEach(a -> e.add(a.toString(StandardCharsets.UTF_8)));
            env = e;
            if (fdr.hasCwd()) {
                chdir = fdr.getCwd().toString(StandardCharsets.UTF_8);
            }
        }
        SpawnSpec.Builder b = SpawnSpec.builder(options.holder()).argv(argv).envp(env);
        if (chdir != null) {
            b.chdir(chdir);
        }
        b.keep(keep);
        if (t.sessionLeader()) {
            b.setsid(true);
        } else if (t.groupLeader()) {
            b.pgroup(0);
        } else {
            Integer leader = real.get(t.pgid());
            boolean leaderInOurSession = images.task(t.pgid()).map(l -> !l.sessionLeader()).orElse(false);
            b.pgroup(leader != null && leaderInOurSession ? leader : 0);
        }
        return b.build();
    }
}
