package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NONBLOCK;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.pipe.Flags.End;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The creator of one pipe (see {@link PipePlan}): pipe2, size, queued data, the status flags of its own
 * end and of the ends it hands over unchanged (so their receivers make no call), copies for the
 * reopeners, unused ends closed: one batch, one hand-off. When the data fits one batch row and the
 * creator keeps one end, these calls join the task's shared batch ({@link #prepare}), so the pipes a task
 * creates in one pass cost one hand-off together. Then the hand-offs to the other descriptions' masters
 * and its own end as the new fd. On any failure every fd it still owns is closed before the error is
 * thrown.
 */
final class PipeCreator implements FileRestorer {
    private final PipePlan plan;
    /** The calls {@link #prepare} added to the shared batch; null when it took no part. */
    private Calls prepared;

    PipeCreator(PipePlan plan) {
        this.plan = plan;
    }

    /** The results the calls of one batch give: pipe2's ends, the write, and the fds handed off. */
    private record Calls(Batch.Ref[] ends, Batch.Ref wrote, List<Batch.Ref> sent) {
    }

    @Override
    public List<Batch.Ref> prepare(OpenContext ctx, Batch b) {
        PipeData data = plan.data;
        if (data.length() > PipeData.DEFAULT_PIPE_SIZE || plan.creator.end() == End.RDWR) {
            return null;
        }
        byte[] bytes;
        try {
            bytes = data.length() > 0 ? data.bytes() : null;
        } catch (IOException e) {
            return null; // open reads it again and reports it
        }
        prepared = addCalls(b, b.pipe(createFlags()), true, bytes);
        return made(prepared);
    }

    /** The fds the calls leave open, each once: the ends not closed, then the copies handed off. */
    private List<Batch.Ref> made(Calls calls) {
        List<Batch.Ref> made = new ArrayList<>();
        for (int end = 0; end < 2; end++) {
            if (!plan.unusedEnds.contains(end)) {
                made.add(calls.ends()[end]);
            }
        }
        for (Batch.Ref r : calls.sent()) {
            if (!made.contains(r)) { // an end handed off as it is
                made.add(r);
            }
        }
        return made;
    }

    /**
     * pipe2's flags. Non-blocking while the data goes in, so a write never waits and a pipe too small
     * answers short; blocking when no write can block: no data, or no more than PIPE_BUF bytes into the
     * new, empty pipe (a pipe holds at least one page), so that ends wanted blocking need no F_SETFL.
     */
    private int createFlags() {
        return O_CLOEXEC | (plan.data.length() > Linux.PIPE_BUF ? O_NONBLOCK : 0);
    }

    /** Whether an end made with {@code created} flags needs F_SETFL to get the status flags {@code wanted}. */
    private static boolean needsSetfl(int created, int wanted) {
        return (wanted & Linux.SETFL_MASK) != (created & Linux.SETFL_MASK);
    }

    /**
     * Adds the calls after pipe2 (whose ends are {@code p}) to {@code b}: the size when {@code size},
     * {@code bytes} (the data, or null), the status flags, the copies, the unused ends closed.
     */
    private Calls addCalls(Batch b, Batch.Ref[] p, boolean size, byte[] bytes) {
        PipePlan.Member me = plan.creator;
        PipeData data = plan.data;
        int created = createFlags();
        if (size && data.size() > 0) {
            // before the data: it fails once more is queued than the new size holds
            b.fcntl(p[1], F_SETPIPE_SZ, data.size());
        }
        Batch.Ref wrote = bytes != null ? b.write(p[1], bytes) : null;
        // Copies first (from the ends as they are): once an fd is handed off it is the engine's.
        List<Batch.Ref> sent = new ArrayList<>();
        for (PipePlan.Delivery d : plan.deliveries) {
            Batch.Ref end = p[d.source().pipeIndex()];
            if (d.original()) {
                sent.add(end);
                if (d.direct() && needsSetfl(created, d.to().flags())) {
                    b.fcntl(end, F_SETFL, d.to().flags() & Linux.SETFL_MASK);
                }
            } else {
                sent.add(b.dup(end));
            }
        }
        if (me.end() != End.RDWR && needsSetfl(created, me.flags())) {
            b.fcntl(p[me.end().pipeIndex()], F_SETFL, me.flags() & Linux.SETFL_MASK);
        }
        for (int end : plan.unusedEnds) {
            b.close(p[end]);
        }
        return new Calls(p, wrote, sent);
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        PipePlan.Member me = plan.creator;
        PipeData data = plan.data;
        List<Integer> owned = new ArrayList<>();
        Calls calls = ctx.prepared() ? prepared : null;
        prepared = null;
        try {
            if (ctx.prepareFailure() != null) {
                throw ctx.prepareFailure(); // the shared batch closed what it made
            }
            if (calls == null) {
                Batch b = t.batch();
                Batch.Ref[] p = b.pipe(createFlags());
                byte[] bytes = null;
                if (data.length() > PipeData.DEFAULT_PIPE_SIZE) {
                    // More than a default pipe holds (up to pipe-max-size): not copied into a batch row; the
                    // pipe is made, then filled from the image in chunks, then the batch goes on with its
                    // ends (which both stay owned until then). The size is set before the data goes in.
                    if (data.size() > 0) {
                        b.fcntl(p[1], F_SETPIPE_SZ, data.size());
                    }
                    b.run();
                    int[] made = {(int) p[0].get(), (int) p[1].get()};
                    owned.add(made[0]);
                    owned.add(made[1]);
                    data.writeInto(t, made[1], "pipe");
                    b = t.batch();
                    p = new Batch.Ref[] {b.fd(made[0]), b.fd(made[1])};
                    calls = addCalls(b, p, false, null);
                } else {
                    if (data.length() > 0) {
                        bytes = data.bytes();
                    }
                    calls = addCalls(b, p, true, bytes);
                }
                b.run(); // on failure it closed what it made, and nothing is owned yet: the catch reports it
                owned.clear(); // (the ends, when they were filled apart: the batch closed the unused one)
            }
            return finish(ctx, t, calls, owned);
        } catch (SysException e) {
            IOException failure = new IOException("pipe " + plan.pipeId + " (creator file " + me.fileId() + "): "
                    + e.getMessage(), e);
            t.closeAll(owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            t.closeAll(owned, e);
            throw e;
        }
    }

    /** After the batch ran: the checks, the copies of a read-write end, the hand-offs and the kept end. */
    private OpenResult finish(OpenContext ctx, TaskTable t, Calls calls, List<Integer> owned) throws Exception {
        PipePlan.Member me = plan.creator;
        PipeData data = plan.data;
        Batch.Ref[] p = calls.ends();
        int[] ends = {(int) p[0].get(), (int) p[1].get()};
        for (Batch.Ref r : made(calls)) {
            owned.add((int) r.get());
        }
        Batch.Ref wrote = calls.wrote();
        if (wrote != null && wrote.get() != data.length()) {
            throw new IOException("pipe " + plan.pipeId + ": the pipe is full after " + Math.max(0, wrote.get())
                    + " of " + data.length() + " queued bytes (pipe size "
                    + (data.size() > 0 ? data.size() + "" : "default") + "): the data is larger than the pipe");
        }

        int kept;
        if (me.end() == End.RDWR) {
            kept = t.open(Flags.procFd(ends[0]), End.RDWR.accessMode() | O_NONBLOCK | O_CLOEXEC, 0);
            owned.add(kept);
            t.fcntl(kept, F_SETFL, me.flags() & Linux.SETFL_MASK);
        } else {
            kept = ends[me.end().pipeIndex()];
        }
        List<Integer> rest = new ArrayList<>(owned);
        rest.remove(Integer.valueOf(kept));
        for (Batch.Ref r : calls.sent()) {
            rest.remove(Integer.valueOf((int) r.get()));
        }
        if (!rest.isEmpty()) {
            throw new IllegalStateException("pipe " + plan.pipeId + ": internal error, fds " + rest
                    + " are neither kept, handed off nor closed");
        }
        // From here each fd is the engine's as soon as it is handed off (kept: once returned).
        for (int i = 0; i < calls.sent().size(); i++) {
            int fd = (int) calls.sent().get(i).get();
            ctx.handOff(plan.deliveries.get(i).to().fileId(), fd);
            owned.remove(Integer.valueOf(fd));
        }
        return OpenResult.done(kept);
    }

    @Override
    public String toString() {
        return "creator of pipe " + plan.pipeId;
    }
}
