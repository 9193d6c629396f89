package fdrestore.core.engine;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.SysException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The open loop of one task (CRIU's open_fdinfos). Each pass clears the task's fds event, receives what
 * arrived, flushes pending sends and calls open for every pending master. It loops while a pass made
 * progress; with none, the task goes idle until someone sets its fds event again. Nothing blocks on a
 * receive. A task loop runs on at most one engine thread at a time.
 *
 * <p>What a plugin sees of the loop is its {@link LoopContext}; the masters opened in a pass are placed by
 * its {@link Placements}; its {@link DependencyCheck} says whether a master may open, and why not.
 */
final class TaskLoop implements Runnable {
    private static final int EVENT = 1;   // the fds event bit
    private static final int ACTIVE = 2;  // scheduled or running

    final int pid;
    final TaskTable table;
    final Engine engine;
    private final AtomicInteger state = new AtomicInteger();

    /** This task's fd slots, by fd number. */
    final List<Fle> fles = new ArrayList<>();
    /** This task's fd slot of each file, by file id. */
    final Map<Long, Fle> fleByFile = new HashMap<>();
    /** Masters that are not RESTORED yet, in fd order. */
    private final List<Fle> pendingMasters = new ArrayList<>();
    private int unrestored;
    private boolean finished;

    /** Fds to send, per receiver, in order; a receiver's queue is sent in messages of up to 253 fds. */
    private final java.util.LinkedHashMap<TaskLoop, ArrayDeque<Outgoing>> outbox = new java.util.LinkedHashMap<>();
    private int outboxSize;
    /** Fds handed to files whose master is in this task, by desc index; owned until taken. */
    final Map<Integer, ArrayDeque<Integer>> inbox = new HashMap<>();
    /** Tasks whose sends to this one found the queue full: woken after this task drains it. */
    final Set<TaskLoop> queueWaiters = ConcurrentHashMap.newKeySet();

    /** Why each pending master answered Again the last time (for the stall report). */
    private final Map<Fle, String> waitReasons = new HashMap<>();

    private final int[] rxFds = new int[Transport.MAX_FDS];
    private final long[] rxTags = new long[Transport.MAX_FDS];
    private final int[] txFds = new int[Transport.MAX_FDS];
    /** Placements carried to the executor in one hand-off. */
    private final int[] plSrc = new int[Transport.MAX_FDS];
    private final int[] plDst = new int[Transport.MAX_FDS];
    private final int[] plFlags = new int[Transport.MAX_FDS];
    private final Fle[] plFle = new Fle[Transport.MAX_FDS];
    /** The masters opened in the current pass, placed at its end (see {@link Placements}). */
    private final Placements placements = new Placements(this);
    private final long[] txTags = new long[Transport.MAX_FDS];
    private final LoopContext ctx = new LoopContext(this);
    private final DependencyCheck deps = new DependencyCheck(this);

    record Outgoing(TaskLoop to, int fd, long tag, boolean closeAfter) {
    }

    void post(Outgoing o) {
        outbox.computeIfAbsent(o.to, k -> new ArrayDeque<>()).add(o);
        outboxSize++;
    }

    TaskLoop(Engine engine, int pid, TaskTable table) {
        this.engine = engine;
        this.pid = pid;
        this.table = table;
    }

    /** Called once after planning. */
    void prepare() {
        fles.sort((a, b) -> Integer.compare(a.fd(), b.fd()));
        for (Fle f : fles) {
            if (f.isMaster()) {
                pendingMasters.add(f);
            }
        }
        unrestored = fles.size();
        finished = unrestored == 0;
    }

    boolean finished() {
        return finished;
    }

    /** Marks the loop active before the engine's first submission. */
    void activate() {
        state.set(ACTIVE | EVENT);
    }

    /**
     * Sets this task's fds event. Only a newly set event of an idle task schedules it (the seeds'
     * try_to_wake_up): a running task sees the bit before it could go idle.
     */
    void setFdsEvent() {
        while (true) {
            int s = state.get();
            if ((s & EVENT) != 0) {
                return;
            }
            int next = s | EVENT | ACTIVE;
            if (state.compareAndSet(s, next)) {
                if ((s & ACTIVE) == 0) {
                    engine.schedule(this);
                }
                return;
            }
        }
    }

    @Override
    public void run() {
        try {
            while (true) {
                state.getAndUpdate(s -> s & ~EVENT);
                if (engine.aborted()) {
                    break;
                }
                boolean progress;
                try {
                    progress = pass();
                } catch (Failure f) {
                    engine.fail(f.toException()); // first: the other loops stop at once
                    dropUnplaced();
                    break;
                } catch (SysException e) {
                    engine.fail(new RestoreException("task " + pid + ": " + e.getMessage(), e, pid, -1, -1, null));
                    dropUnplaced();
                    break;
                } catch (RuntimeException | Error e) {
                    engine.fail(new RestoreException("task " + pid + ": internal error: " + e, e, pid, -1, -1, null));
                    dropUnplaced();
                    break;
                }
                if (progress) {
                    continue;
                }
                // No progress: go idle unless the fds event was set during the pass.
                if (state.compareAndSet(ACTIVE, 0)) {
                    engine.idle(this);
                    return;
                }
            }
        } catch (Throwable t) {
            engine.fail(new RestoreException("task " + pid + ": internal error: " + t, t, pid, -1, -1, null));
        }
        state.set(0);
        engine.idle(this);
    }

    /** Slots restored during the current pass, reported once at its end. */
    private int restoredInPass;

    /** One pass; true when anything changed. */
    private boolean pass() throws SysException, Failure {
        restoredInPass = 0;
        try {
            return pass0();
        } finally {
            if (restoredInPass > 0) {
                engine.restored(restoredInPass);
            }
        }
    }

    private boolean pass0() throws SysException, Failure {
        boolean progress = receive();
        progress |= flush();
        prepareMasters();
        int size = pendingMasters.size();
        for (int i = 0; i < size; i++) {
            Fle f = pendingMasters.get(i);
            if (!engine.aborted() && openMaster(f)) {
                progress = true;
            }
        }
        if (engine.aborted()) {
            dropUnplaced();
            return false;
        }
        placements.placeOpened();
        int kept = 0;
        for (int i = 0; i < size; i++) {
            Fle f = pendingMasters.get(i);
            if (f.stage() != Stage.RESTORED) {
                pendingMasters.set(kept++, f); // keep fd order, drop the restored in one pass
            }
        }
        pendingMasters.subList(kept, size).clear();
        progress |= flush();
        if (!finished && unrestored == 0 && outboxSize == 0) {
            placements.closeHeld();
            finished = true;
            engine.taskFinished(this);
            progress = true;
        }
        return progress;
    }

    // ---- receiving ------------------------------------------------------------------------------

    private boolean receive() throws SysException, Failure {
        boolean any = false;
        int n;
        while ((n = engine.transport.receive(table, rxFds, rxTags)) >= 0) {
            any = true;
            int places = 0;
            for (int i = 0; i < n; i++) {
                Fle f = accept(rxFds[i], rxTags[i]);
                if (f != null) {
                    plSrc[places] = rxFds[i];
                    plDst[places] = f.fd();
                    plFlags[places] = f.info.cloexec() ? TaskTable.PLACE_CLOEXEC : 0;
                    plFle[places++] = f;
                }
            }
            // Every fd of the message to its slot in one hand-off.
            table.placeAll(plSrc, plDst, plFlags, places);
            for (int i = 0; i < places; i++) {
                restored(plFle[i]);
            }
        }
        if (any && !queueWaiters.isEmpty()) {
            for (TaskLoop t : queueWaiters) {
                queueWaiters.remove(t);
                t.setFdsEvent();
            }
        }
        return any;
    }

    /**
     * Takes one received fd: returns the slot it must be placed at, or null when it was stored for a
     * hand-off. The fd is ours from here on.
     */
    private Fle accept(int fd, long tag) throws SysException, Failure {
        int index = Tags.index(tag);
        if (Tags.kind(tag) == Tags.FLE && index >= 0 && index < engine.fles.size()) {
            Fle f = engine.fles.get(index);
            if (f.task != this || f.stage() == Stage.RESTORED || f.isMaster()) {
                table.close(fd);
                throw new Failure(f, "received an fd for a slot that does not expect one");
            }
            return f;
        } else if (Tags.kind(tag) == Tags.HANDOFF && index >= 0 && index < engine.descs.size()
                && engine.descs.get(index).master.task == this) {
            inbox.computeIfAbsent(index, k -> new ArrayDeque<>()).add(fd);
            return null;
        } else {
            table.close(fd);
            throw new Failure(null, "received an fd with an unknown tag 0x" + Long.toHexString(tag));
        }
    }

    // ---- sending --------------------------------------------------------------------------------

    private boolean flush() throws SysException {
        boolean progress = false;
        var it = outbox.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            TaskLoop to = e.getKey();
            ArrayDeque<Outgoing> q = e.getValue();
            while (!q.isEmpty()) {
                int n = 0;
                for (Outgoing o : q) {
                    if (n == Transport.MAX_FDS) {
                        break;
                    }
                    txFds[n] = o.fd;
                    txTags[n++] = o.tag;
                }
                // Register before trying, so a drain between a refused send and the registration is not lost.
                to.queueWaiters.add(this);
                if (!engine.transport.send(table, to.pid, txFds, txTags, n)) {
                    break; // this receiver's queue is full: try the next receiver
                }
                to.queueWaiters.remove(this);
                for (int i = 0; i < n; i++) {
                    Outgoing o = q.poll();
                    if (o.closeAfter) {
                        table.close(o.fd);
                    }
                }
                outboxSize -= n;
                to.setFdsEvent();
                progress = true;
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
        return progress;
    }

    // ---- masters --------------------------------------------------------------------------------

    private boolean openMaster(Fle f) throws SysException, Failure {
        FileDesc d = f.desc;
        Dependency gate = deps.unmetGate(d);
        if (gate != null) {
            waitReasons.put(f, deps.describe(gate));
            return false;
        }
        ctx.current = f;
        ctx.reason = null;
        d.preparedFds = null; // from here the restorer owns them
        OpenResult r;
        try {
            r = d.restorer.open(ctx);
        } catch (SysException e) {
            throw new Failure(f, e.getMessage(), e);
        } catch (Exception e) {
            throw new Failure(f, String.valueOf(e.getMessage() != null ? e.getMessage() : e), e);
        } finally {
            ctx.current = null;
        }
        if (r == null) {
            throw new Failure(f, "the " + d.kind + " plugin's open returned null");
        }
        if (r instanceof OpenResult.Fail fail) {
            Throwable c = fail.cause();
            throw new Failure(f, c.getMessage() != null ? c.getMessage() : c.toString(), c);
        }
        boolean progress = false;
        OptionalInt newFd = r.newFd();
        boolean done = r instanceof OpenResult.Done;
        if (newFd.isPresent()) {
            if (d.opened) {
                table.close(newFd.getAsInt());
                throw new Failure(f, "the " + d.kind + " plugin reported a second fd for one file");
            }
            placements.placeLater(d, newFd.getAsInt(), done);
            progress = true;
        }
        if (done) {
            if (!d.opened) {
                throw new Failure(f, "the " + d.kind + " plugin answered Done without reporting an fd");
            }
            waitReasons.remove(f);
            if (newFd.isEmpty()) {
                restored(f);
            }
            progress = true;
        } else {
            waitReasons.put(f, ctx.reason != null ? ctx.reason : deps.unmetFinishDeps(d));
        }
        return progress;
    }

    /**
     * Lets every pending master that is ready to open and has not been asked yet add its first calls to
     * one shared batch, and runs it: one hand-off for all of them (see {@link FileRestorer#prepare}).
     */
    private void prepareMasters() throws Failure {
        if (noSharedBatch) {
            return;
        }
        fdrestore.api.spi.Batch batch = null;
        List<Joined> joined = null;
        for (int i = 0; i < pendingMasters.size(); i++) {
            Fle f = pendingMasters.get(i);
            FileDesc d = f.desc;
            if (d.prepareCalled || d.opened || deps.unmetGate(d) != null) {
                continue;
            }
            d.prepareCalled = true;
            int from;
            try {
                if (batch == null) {
                    batch = table.batch();
                }
                from = batch.size();
            } catch (UnsupportedOperationException e) {
                noSharedBatch = true; // a table whose batches cannot say which call failed
                return;
            }
            ctx.current = f;
            ctx.reason = null;
            List<fdrestore.api.spi.Batch.Ref> fds;
            try {
                fds = d.restorer.prepare(ctx, batch);
            } catch (RuntimeException e) {
                throw new Failure(f, "the " + d.kind + " plugin's prepare failed: " + e, e);
            } finally {
                ctx.current = null;
            }
            if (fds != null) {
                if (joined == null) {
                    joined = new ArrayList<>();
                }
                joined.add(new Joined(d, from, batch.size()));
                d.preparedFds = fds.isEmpty() ? null : List.copyOf(fds);
            }
        }
        if (joined == null) {
            return;
        }
        SysException failed = null;
        try {
            batch.run();
        } catch (SysException e) {
            failed = e; // the batch closed what it made
        }
        int at = failed == null ? -1 : batch.failedCall();
        for (Joined j : joined) {
            FileDesc d = j.desc();
            d.prepared = failed == null;
            if (failed != null) {
                d.preparedFds = null;
                if (at >= j.from() && at < j.to()) {
                    d.prepareFailure = failed;
                }
            }
        }
    }

    /** A file whose prepare added the shared batch's calls [from, to). */
    private record Joined(FileDesc desc, int from, int to) {
    }

    /** Set when this task's table cannot share a batch among files (see prepareMasters). */
    private boolean noSharedBatch;

    /**
     * The fds this loop owns that are on no target yet: new fds waiting for {@link #placeOpened()}, and
     * fds a prepare left whose file's open was not called.
     */
    private List<Integer> unplacedFds() {
        List<Integer> out = new ArrayList<>();
        placements.unplaced(out);
        for (Fle f : pendingMasters) {
            if (f.desc.preparedFds != null) {
                for (fdrestore.api.spi.Batch.Ref r : f.desc.preparedFds) {
                    out.add((int) r.get());
                }
            }
        }
        placements.held(out);
        return out;
    }

    /** On a failure: closes the {@link #unplacedFds()}; they are ours. */
    private void dropUnplaced() {
        for (int fd : unplacedFds()) {
            try {
                table.close(fd);
            } catch (SysException | RuntimeException ignored) {
                // the table is being dropped with everything in it
            }
        }
        placements.drop();
        for (Fle f : pendingMasters) {
            f.desc.preparedFds = null;
        }
    }

    void restored(Fle f) {
        if (f.stage() != Stage.RESTORED) {
            f.advance(Stage.RESTORED);
            unrestored--;
            restoredInPass++;
            engine.stageChanged(f.desc, this);
        }
    }

    // ---- reporting ------------------------------------------------------------------------------

    /** Lines of the wait-for graph for this task's unfinished slots. Only called while the task is idle. */
    void describeWaits(List<String> lines) {
        for (Fle f : fles) {
            if (f.stage() == Stage.RESTORED) {
                continue;
            }
            if (f.isMaster()) {
                String why = waitReasons.getOrDefault(f, "not opened yet");
                lines.add(f + " [" + f.stage() + "] " + why);
            } else {
                Fle m = f.desc.master;
                lines.add(f + " [" + f.stage() + "] waits for its fd from master " + m + " [" + m.stage() + "]");
            }
        }
        outbox.forEach((to, q) -> lines.add("task " + pid + " has " + q.size() + " fd(s) to send to task " + to.pid
                + " (its queue is full)"));
    }

    /**
     * All fds this loop still owns outside their targets (inbox, outbox hand-offs, new fds waiting for
     * their placement, prepared fds whose open was not called), for rollback.
     */
    List<Integer> ownedTemporaries() {
        List<Integer> out = new ArrayList<>();
        inbox.values().forEach(out::addAll);
        out.addAll(unplacedFds());
        for (ArrayDeque<Outgoing> q : outbox.values()) {
            for (Outgoing o : q) {
                if (o.closeAfter) {
                    out.add(o.fd);
                }
            }
        }
        return out;
    }


}
