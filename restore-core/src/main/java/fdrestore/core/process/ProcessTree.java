package fdrestore.core.process;

import static fdrestore.core.process.HolderChannel.REPLY_TIMEOUT_NS;

import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.SpawnSpec;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Builds the process tree of a restore from its task tables, as the images' tree: the roots are spawned
 * here, every other task is forked by its parent's holder ({@link TreeBuilder}), then each builder is
 * released and the recorded commands are started. One instance builds one tree.
 */
public final class ProcessTree {
    /** A task now a process: its image pid, its real pid and what it runs (for display). */
    public record Built(int imagePid, int pid, String command) {
    }

    final TreePlan plan;
    final HolderCommandLine commandLine;
    /** The control pipes of the tree's builders (image pid), made by {@link #build}. */
    private final Map<Integer, HolderChannel> controls = new HashMap<>();
    /** Per task that runs its command (image pid): its start pipe {read, write}, in its table. */
    final Map<Integer, int[]> starts = new HashMap<>();
    /** Per task (image pid), the table the process steps call (a sharer's is its owner's). */
    Map<Integer, TaskTable> io = Map.of();
    /** Told of every process made for a task (image pid, real pid), as soon as it is up. */
    BiConsumer<Integer, Integer> onSpawned = (task, pid) -> { };
    /** Called once the tree is built, before any command starts (real pid map, real pid -> start fd). */
    private BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> atGate;
    /** Called once every process is up, just before the holders are released (a progress phase). */
    private Runnable beforeRelease = () -> { };

    /**
     * @param holder    the holder program
     * @param root      the directory the tasks' recorded cwds are under
     * @param workDir   where a root task starts when the images record no cwd (null: this process's)
     * @param listenFds a recorded command gets its listening sockets as systemd's socket activation does
     */
    public ProcessTree(TreePlan plan, String holder, Path root, Path workDir, boolean listenFds) {
        this.plan = plan;
        this.commandLine = new HolderCommandLine(plan, holder, root, workDir, listenFds, controls, starts);
    }

    /** Who is told of every process made for a task (image pid, real pid): fault injection counts them. */
    public ProcessTree onSpawned(BiConsumer<Integer, Integer> to) {
        this.onSpawned = to;
        return this;
    }

    /** What to do once every process is up and just before the holders are released. */
    public ProcessTree beforeRelease(Runnable r) {
        this.beforeRelease = r;
        return this;
    }

    /** What to do once the tree is built, before any recorded command starts (see Restorer#atGate). */
    public ProcessTree atGate(BiConsumer<Map<Integer, Integer>, Map<Integer, Integer>> check) {
        this.atGate = check;
        return this;
    }

    /**
     * Turns every table into a process, as the image's tree: each root task (whose parent is not in the
     * images) is spawned from its executor thread and inherits its table; every other task is forked by
     * its parent's holder (so its parent, session, group and controlling terminal are the real ones) and
     * takes its fds from its executor thread's table: it receives them from a socket of that table, where
     * they are queued in ascending order ({@link FdHandOver}), or else takes each with pidfd_getfd.
     * Siblings are built session leaders first, then group leaders, then the others. The forks are
     * pipelined ({@link TreeBuilder}): each holder gets the commands of several children at once, and every
     * holder that is up works at the same time.
     */
    public List<Built> build(Map<Integer, ExecutorTaskTable> tables, Map<Integer, TaskTable> io, List<Integer> spawned,
                             List<String> cgroupArgs) throws RestoreException {
        this.io = io;
        Map<Integer, List<Task>> children = new LinkedHashMap<>();
        List<Task> roots = new ArrayList<>();
        for (Task t : plan.images().tasks()) {
            if (plan.images().task(t.ppid()).isPresent()) {
                children.computeIfAbsent(t.ppid(), k -> new ArrayList<>()).add(t);
            } else {
                roots.add(t);
            }
        }
        children.values().forEach(l -> l.sort((a, b) -> Integer.compare(rank(a), rank(b))));
        controls.clear();
        for (Integer pid : children.keySet()) {
            try {
                controls.put(pid, HolderChannel.open(io.get(pid)));
            } catch (SysException e) {
                throw new RestoreException("task " + pid + ": cannot make the control pipes of the process tree: "
                        + e.getMessage(), e);
            }
        }
        starts.clear();
        for (Task t : plan.images().tasks()) {
            if (plan.command(t) != null) {
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
        TreeBuilder builder = new TreeBuilder(this, tables, controls, children, serialOrder(roots, children), real,
                commands, spawned);
        for (Task t : roots) {
            ExecutorTaskTable table = tables.get(t.pid());
            try {
                // The holder answers on a ready pipe once its fds, name and terminal are set up.
                HolderChannel ready = HolderChannel.open(io.get(t.pid()));
                List<String> argv = new ArrayList<>(commandLine.argv(t, real, controls.get(t.pid())));
                argv.add(3, "--ready"); // after --comm NAME, where a built child shows it too
                argv.add(4, Integer.toString(ready.replyWrite()));
                argv.addAll(5, cgroupArgs); // joined first of all, so that all it makes is in it
                SpawnSpec spec = commandLine.rootSpec(t, argv, real, controls.get(t.pid()), ready.replyWrite());
                int pid = table.spawn(spec);
                spawned.add(pid);
                onSpawned.accept(t.pid(), pid);
                real.put(t.pid(), pid);
                commands.put(t.pid(), commandLine.display(t));
                String r = ready.line(io.get(t.pid()), REPLY_TIMEOUT_NS, pid);
                if (r == null || !r.equals("R " + pid)) {
                    throw new RestoreException("task " + t.pid() + ": its process (pid " + pid + ") did not come up: "
                            + (r != null ? HolderCode.describe(r) : !Processes.running(pid) ? "it died"
                            : "no answer within " + REPLY_TIMEOUT_NS / 1_000_000_000L + " s"));
                }
                // The holder closes its ready fd right after "R": a task with no children gets no release
                // that would wait for it, so wait here, or a verification may see the pipe still open.
                Processes.awaitClosed(pid, ready.replyWrite());
            } catch (SysException e) {
                throw new RestoreException("task " + t.pid() + ": cannot start its process: " + e.getMessage(), e);
            }
        }
        for (Task t : roots) {
            builder.forked(t, real.get(t.pid()));
        }
        builder.run();
        applyOwners(real);
        beforeRelease.run(); // the tree is built; until its holders are released, fdrestore's death ends it
        for (Map.Entry<Integer, HolderChannel> e : controls.entrySet()) {
            List<String> release = new ArrayList<>(List.of("release"));
            for (ProcessAction a : plan.actions(e.getKey())) {
                if (a instanceof ProcessAction.ForegroundGroup g && real.get(g.imagePgid()) != null) {
                    release.add(Integer.toString(real.get(g.imagePgid())));
                }
            }
            release.addAll(commandLine.releaseOpens(e.getKey(), real));
            try {
                HolderChannel ctl = e.getValue();
                TaskTable table = io.get(e.getKey());
                int holder = real.get(e.getKey());
                String done = ctl.send(table, release, holder) ? ctl.line(table, REPLY_TIMEOUT_NS, holder) : null;
                if (done == null || !done.startsWith("D ")) {
                    throw new RestoreException("task " + e.getKey() + ": its holder (pid " + holder + ") did not finish "
                            + "building (" + (done != null ? done : !Processes.running(holder) ? "it died" : "no answer") + ")");
                }
                if (!done.equals("D 0")) {
                    HolderCode failed = null;
                    try {
                        failed = HolderCode.of('D', Integer.parseInt(done.substring(2).trim()));
                    } catch (NumberFormatException ignored) {
                        // an answer the holder never gives: shown as it is
                    }
                    throw new RestoreException("task " + e.getKey() + ": its holder failed after building its children"
                            + (failed != null ? ": " + failed.what + " failed" : " (" + done + ")"));
                }
                // The holder closes its reply pipe right after "D": the table is final once it has.
                Processes.awaitClosed(holder, ctl.replyWrite());
            } catch (SysException ex) {
                throw new RestoreException("task " + e.getKey() + ": cannot release its holder: " + ex.getMessage(), ex);
            }
        }
        List<Built> out = new ArrayList<>();
        Map<Integer, Integer> pidMap = new LinkedHashMap<>();
        Map<Integer, Integer> startFds = new HashMap<>();
        for (Task t : plan.images().tasks()) {
            // Nothing ends by itself yet: a command waits at its start pipe, a holder for ever.
            if (!Processes.running(real.get(t.pid()))) {
                throw new RestoreException("task " + t.pid() + ": its process (pid " + real.get(t.pid())
                        + ") died during the restore");
            }
            out.add(new Built(t.pid(), real.get(t.pid()), commands.get(t.pid())));
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
    static Map<Integer, Integer> serialOrder(List<Task> roots, Map<Integer, List<Task>> children) {
        Map<Integer, Integer> order = new HashMap<>();
        ArrayDeque<Task> queue = new ArrayDeque<>();
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

    /**
     * Sets the owners (F_SETOWN) that are tasks or groups of the tree, now that every process exists:
     * through the task's executor table, which holds the same open file descriptions as the process.
     */
    private void applyOwners(Map<Integer, Integer> real) throws RestoreException {
        for (Task t : plan.images().tasks()) {
            for (ProcessAction a : plan.actions(t.pid())) {
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
                    io.get(t.pid()).fcntl(o.fd(), Linux.F_SETOWN, o.group() ? -pid : pid);
                } catch (SysException e) {
                    throw new RestoreException(what + " (pid " + pid + "): " + e.getMessage(), e);
                }
            }
        }
    }

    private static int rank(Task t) {
        return t.sessionLeader() ? 0 : t.groupLeader() ? 1 : 2;
    }
}
