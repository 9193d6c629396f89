package fdrestore.core.process;

import static fdrestore.core.process.HolderChannel.REPLY_TIMEOUT_NS;

import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * Builds every non-root task, pipelined. Each holder that exists (a root, or a child whose "F" came) is
 * a {@link Parent}: it is sent the "fork" commands of its children in rank order, up to {@link #WINDOW}
 * not yet up, without waiting for the answers; its holder serves them in order once it is up and in
 * builder mode, so each "F pid" answers the oldest command without one, and each child's own "R pid"
 * (or "E ...") is matched by pid. All the holders work at once: a child's commands wait in its pipe
 * while it takes its fds, so a deep tree costs no round trip through here per level. A command is
 * sent only once every task it relies on is up (the leader of a group it joins; the foreground group
 * of its tty, if a serial build would have made it before: see {@link ProcessTree#serialOrder}). Every pid is in
 * {@code spawned} as soon as its "F" comes.
 */
final class TreeBuilder {
    /** Children of one holder forked and not yet up, at most: bounds the commands in its pipe. */
    private static final int WINDOW = 64;
    /** Bytes of commands queued for one holder, at most: the capacity of a pipe. */
    private static final int BATCH_BYTES = 65536;
    /** The pause between two looks at the reply pipes when nothing came, doubling up to the maximum. */
    private static final long MIN_IDLE_NS = 200_000L;
    private static final long MAX_IDLE_NS = 1_000_000L;
    /** How long a holder with work may stay silent before its processes are checked for death. */
    private static final long QUIET_CHECK_NS = 5_000_000L;

    private final ProcessTree tree;
    private final Map<Integer, ExecutorTaskTable> tables;
    private final Map<Integer, HolderChannel> controls;
    private final Map<Integer, List<Task>> children;
    private final Map<Integer, Integer> order;
    private final Map<Integer, Integer> real;
    private final Map<Integer, String> commands;
    private final List<Integer> spawned;
    private final List<Parent> active = new ArrayList<>();
    private final byte[] buf = new byte[4096];
    /** Whether children receive their fds from a socket of their table ({@link FdHandOver}). */
    private final boolean handOver = FdHandOver.enabled();

    TreeBuilder(ProcessTree tree, Map<Integer, ExecutorTaskTable> tables, Map<Integer, HolderChannel> controls,
                Map<Integer, List<Task>> children, Map<Integer, Integer> order, Map<Integer, Integer> real,
                Map<Integer, String> commands, List<Integer> spawned) {
        this.tree = tree;
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
                LockSupport.parkNanos(left);
            }
        }
    }

    /** A holder in builder mode and the state of its children's commands. */
    private final class Parent {
        final Task task;
        final List<Task> kids;
        final HolderChannel ctl;
        final TaskTable table;
        final int holder;
        /** The next child whose command is to be made. */
        int next;
        /** Commands made and not yet written whole: out[outOff, outLen). */
        byte[] out = new byte[4096];
        int outOff;
        int outLen;
        /** Children whose command is sent (or being sent) and whose "F" has not come, in order. */
        final ArrayDeque<Task> unforked = new ArrayDeque<>();
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
            this.table = tree.io.get(task.pid());
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
                byte[] m = HolderChannel.encode(msg);
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
                            + " failed: " + Errno.describe(Integer.parseInt(f[2])));
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
                TreeKiller.quietKill(pid);
                throw new RestoreException("task " + c.pid() + ": its process (pid " + pid + ") could not take its fds: "
                        + HolderCode.describe(line));
            }
            tree.onSpawned.accept(c.pid(), pid);
            real.put(c.pid(), pid);
            commands.put(c.pid(), tree.commandLine.display(c));
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
        for (ProcessAction a : tree.plan.actions(c.pid())) {
            if (a instanceof ProcessAction.ForegroundGroup g && g.imagePgid() != c.pid()) {
                Integer at = order.get(g.imagePgid());
                if (at != null && at < mine && !real.containsKey(g.imagePgid())) {
                    return null;
                }
            }
            int target = a instanceof ProcessAction.Pidfd p ? p.imagePid()
                    : a instanceof ProcessAction.ProcFile f ? f.imagePid() : c.pid();
            if (target != c.pid()) {
                Integer at = order.get(target);
                if (at != null && at < mine && !real.containsKey(target)) {
                    return null;
                }
            }
        }
        ExecutorTaskTable ct = tables.get(c.pid());
        HolderChannel own = controls.get(c.pid());
        List<Integer> taken = new ArrayList<>();
        for (Fd fd : c.fds()) {
            taken.add(fd.fd());
        }
        if (own != null) {
            for (int fd : own.holderEnds()) {
                taken.add(fd);
            }
        }
        for (int fd : tree.commandLine.sharersEnds(c)) {
            taken.add(fd);
        }
        if (tree.starts.containsKey(c.pid())) {
            taken.add(tree.starts.get(c.pid())[0]);
        }
        StringBuilder fds = new StringBuilder();
        for (int fd : taken) {
            fds.append(fds.length() == 0 ? "" : ",").append(fd);
        }
        int queue = ct != null && handOver ? FdHandOver.queue(ct, taken.stream().mapToInt(Integer::intValue).toArray()) : -1;
        if (queue >= 0) {
            fds.insert(0, "@" + queue + "/"); // the child receives them from that socket of the table
        }
        // TID 0: the child shares its parent's table (CLONE_FILES) instead of taking one of its own
        List<String> msg = new ArrayList<>(List.of("fork", ct == null ? "0" : Integer.toString(ct.tid()), mode,
                Integer.toString(pgid), fds.toString()));
        msg.addAll(tree.commandLine.argv(c, before(mine), own));
        return msg;
    }

    /** {@code real} as a serial build would have had it before the task at {@code limit} in its order. */
    private Map<Integer, Integer> before(int limit) {
        return new AbstractMap<>() {
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
            public Set<Map.Entry<Integer, Integer>> entrySet() {
                Set<Map.Entry<Integer, Integer>> s = new LinkedHashSet<>();
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
