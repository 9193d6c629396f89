package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NONBLOCK;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * A description of a pipe that another description creates (see {@link PipePlan}). It waits for the
 * creator to be OPEN, takes the fd handed to it, and either uses it as its own ({@code direct}: the exact
 * end, used by nobody else) or reopens it through {@code /proc/thread-self/fd/N} with its own flags for a
 * description of its own, closing the handed fd.
 */
final class PipePeer implements FileRestorer {
    private final long pipeId;
    private final PipePlan.Member creator;
    private final PipePlan.Member me;
    private final boolean direct;

    PipePeer(long pipeId, PipePlan.Member creator, PipePlan.Member me, boolean direct) {
        this.pipeId = pipeId;
        this.creator = creator;
        this.me = me;
        this.direct = direct;
    }

    @Override
    public List<Dependency> dependencies() {
        return List.of(Dependency.beforeOpen(creator.fileId(), Stage.OPEN,
                "pipe " + pipeId + " is created by file " + creator.fileId() + " (" + creator.master() + ")"));
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        OptionalInt handed = ctx.takeHandOff();
        if (handed.isEmpty()) {
            ctx.waitingFor("pipe " + pipeId + ": waits for its fd from the creator, file " + creator.fileId()
                    + " (" + creator.master() + ")");
            return OpenResult.again();
        }
        TaskTable t = ctx.table();
        int fd = handed.getAsInt();
        int status = me.flags() & Flags.SETFL_MASK;
        if (direct) {
            return OpenResult.done(fd); // the creator set this description's status flags
        }
        int own = -1;
        try {
            own = t.open(Flags.procFd(fd), me.end().accessMode() | (status & O_NONBLOCK) | O_CLOEXEC, 0);
            if ((status & ~O_NONBLOCK) != 0) {
                t.fcntl(own, F_SETFL, status);
            }
            int copy = fd;
            fd = -1;
            t.close(copy);
            return OpenResult.done(own);
        } catch (SysException e) {
            IOException failure = new IOException(describe() + ": cannot reopen the pipe: " + e.getMessage(), e);
            List<Integer> left = new ArrayList<>();
            if (own >= 0) {
                left.add(own);
            }
            if (fd >= 0) {
                left.add(fd);
            }
            t.closeAll(left, failure);
            throw failure;
        }
    }

    private String describe() {
        return "pipe " + pipeId + " (file " + me.fileId() + ", flags " + Flags.octal(me.flags()) + ")";
    }

    @Override
    public String toString() {
        return (direct ? "direct user" : "reopener") + " of pipe " + pipeId;
    }
}
