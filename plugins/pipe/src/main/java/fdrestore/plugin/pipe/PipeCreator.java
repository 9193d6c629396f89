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
 * reopeners, unused ends closed: one batch, one hand-off. Then the hand-offs to the other descriptions'
 * masters and its own end as the new fd. On any failure every fd it still owns is closed before the
 * error is thrown.
 */
final class PipeCreator implements FileRestorer {
    private final PipePlan plan;

    PipeCreator(PipePlan plan) {
        this.plan = plan;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        PipePlan.Member me = plan.creator;
        PipeData data = plan.data;
        List<Integer> owned = new ArrayList<>();
        try {
            // Non-blocking while the data goes in: a write never waits, a pipe too small answers short.
            Batch b = t.batch();
            Batch.Ref[] p = b.pipe(O_CLOEXEC | O_NONBLOCK);
            if (data.size() > 0) {
                // before the data: it fails once more is queued than the new size holds
                b.fcntl(p[1], F_SETPIPE_SZ, data.size());
            }
            Batch.Ref wrote = null;
            if (data.length() > PipeData.DEFAULT_PIPE_SIZE) {
                // More than a default pipe holds (up to pipe-max-size): not copied into a batch row; the pipe
                // is made, then filled from the image in chunks, then the batch goes on with its ends (which
                // both stay owned until then).
                b.run();
                int[] made = {(int) p[0].get(), (int) p[1].get()};
                owned.add(made[0]);
                owned.add(made[1]);
                data.writeInto(t, made[1], "pipe");
                b = t.batch();
                p = new Batch.Ref[] {b.fd(made[0]), b.fd(made[1])};
            } else if (data.length() > 0) {
                wrote = b.write(p[1], data.bytes());
            }
            // Copies first (from the ends as they are): once an fd is handed off it is the engine's.
            List<Batch.Ref> sent = new ArrayList<>();
            for (PipePlan.Delivery d : plan.deliveries) {
                Batch.Ref end = p[d.source().pipeIndex()];
                if (d.original()) {
                    sent.add(end);
                    if (d.direct()) {
                        b.fcntl(end, F_SETFL, d.to().flags() & Linux.SETFL_MASK);
                    }
                } else {
                    sent.add(b.dup(end));
                }
            }
            if (me.end() != End.RDWR) {
                b.fcntl(p[me.end().pipeIndex()], F_SETFL, me.flags() & Linux.SETFL_MASK);
            }
            for (int end : plan.unusedEnds) {
                b.close(p[end]);
            }
            b.run(); // on failure it closed what it made, and nothing is owned yet: the catch below reports it
            owned.clear(); // (the ends, when they were filled apart: the batch closed the unused one)
            int[] ends = {(int) p[0].get(), (int) p[1].get()};
            for (int end = 0; end < 2; end++) {
                if (!plan.unusedEnds.contains(end)) {
                    owned.add(ends[end]);
                }
            }
            for (Batch.Ref r : sent) {
                if (!owned.contains((int) r.get())) {
                    owned.add((int) r.get());
                }
            }
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
            for (Batch.Ref r : sent) {
                rest.remove(Integer.valueOf((int) r.get()));
            }
            if (!rest.isEmpty()) {
                throw new IllegalStateException("pipe " + plan.pipeId + ": internal error, fds " + rest
                        + " are neither kept, handed off nor closed");
            }
            // From here each fd is the engine's as soon as it is handed off (kept: once returned).
            for (int i = 0; i < sent.size(); i++) {
                int fd = (int) sent.get(i).get();
                ctx.handOff(plan.deliveries.get(i).to().fileId(), fd);
                owned.remove(Integer.valueOf(fd));
            }
            return OpenResult.done(kept);
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

    @Override
    public String toString() {
        return "creator of pipe " + plan.pipeId;
    }
}
