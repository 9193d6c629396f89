package fdrestore.plugin.pipe;

import static fdrestore.core.sys.Linux.F_SETFL;
import static fdrestore.core.sys.Linux.O_CLOEXEC;
import static fdrestore.core.sys.Linux.O_NONBLOCK;

import fdrestore.core.spi.FileRestorer;
import fdrestore.core.spi.OpenContext;
import fdrestore.core.spi.OpenResult;
import fdrestore.core.spi.TaskTable;
import fdrestore.core.sys.SysException;
import fdrestore.plugin.pipe.Flags.End;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The creator of one pipe (see {@link PipePlan}): pipe2, size, queued data, hand-offs to the other
 * descriptions' masters, its own end as the new fd. Done in one call; on any failure every fd it still
 * owns is closed before the error is thrown.
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
        List<Integer> owned = new ArrayList<>();
        try {
            // Non-blocking while the data goes in: a write never waits, a pipe too small answers "full".
            int[] p = t.pipe(O_CLOEXEC | O_NONBLOCK);
            owned.add(p[0]);
            owned.add(p[1]);
            plan.data.restoreInto(t, p[1], "pipe");

            int kept;
            if (me.end() == End.RDWR) {
                kept = t.open(Flags.procFd(p[0]), End.RDWR.accessMode() | O_NONBLOCK | O_CLOEXEC, 0);
                owned.add(kept);
            } else {
                kept = p[me.end().pipeIndex()];
            }

            // Copies first: once an fd is handed off it is the engine's, not ours.
            List<long[]> handOffs = new ArrayList<>();
            for (PipePlan.Delivery d : plan.deliveries) {
                int end = p[d.source().pipeIndex()];
                int fd;
                if (d.original()) {
                    fd = end;
                } else {
                    fd = t.dup(end);
                    owned.add(fd);
                }
                handOffs.add(new long[] {d.to().fileId(), fd});
            }
            t.fcntl(kept, F_SETFL, me.flags() & Flags.SETFL_MASK);
            for (int end : plan.unusedEnds) {
                t.close(p[end]);
                owned.remove(Integer.valueOf(p[end]));
            }
            List<Integer> rest = new ArrayList<>(owned);
            rest.remove(Integer.valueOf(kept));
            for (long[] h : handOffs) {
                rest.remove(Integer.valueOf((int) h[1]));
            }
            if (!rest.isEmpty()) {
                throw new IllegalStateException("pipe " + plan.pipeId + ": internal error, fds " + rest
                        + " are neither kept, handed off nor closed");
            }
            // From here each fd is the engine's as soon as it is handed off (kept: once returned).
            for (long[] h : handOffs) {
                ctx.handOff(h[0], (int) h[1]);
                owned.remove(Integer.valueOf((int) h[1]));
            }
            return OpenResult.done(kept);
        } catch (SysException e) {
            IOException failure = new IOException("pipe " + plan.pipeId + " (creator file " + me.fileId() + "): "
                    + e.getMessage(), e);
            Flags.closeAll(t, owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            Flags.closeAll(t, owned, e);
            throw e;
        }
    }

    @Override
    public String toString() {
        return "creator of pipe " + plan.pipeId;
    }
}
