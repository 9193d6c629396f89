package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_DIRECTORY;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_PATH;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.RESOLVE_IN_ROOT;
import static fdrestore.api.sys.Linux.S_IFIFO;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * One open description of a named FIFO. Every description opens the path on its own:
 * <ol>
 * <li>the path is resolved under {@code --root} (openat2 RESOLVE_IN_ROOT from an O_PATH fd of the root)
 * to an O_PATH fd, which must be a FIFO (fstat);</li>
 * <li>a "fake" O_RDWR|O_NONBLOCK open through {@code /proc/thread-self/fd/N}: it cannot block, and it is
 * a reader and a writer, so that</li>
 * <li>the real open with the image's flags cannot block either (nor fail with ENXIO);</li>
 * <li>the first description of the FIFO ({@code data} not null) restores the pipe size and the queued
 * data through the fake fd;</li>
 * <li>the fake fd, the O_PATH fd and the root fd are closed.</li>
 * </ol>
 */
final class FifoRestorer implements FileRestorer {
    private final long fileId;
    private final long pipeId;
    private final String path;
    private final int flags;
    private final PipeData data;
    private final GhostFifo ghost;

    /** {@code data}: the queued data to restore, for the one description that does it; null for the others. */
    FifoRestorer(long fileId, long pipeId, String path, int flags, PipeData data) {
        this(fileId, pipeId, path, flags, data, null);
    }

    /** {@code ghost}: the node to recreate when the FIFO was unlinked at dump time, else null. */
    FifoRestorer(long fileId, long pipeId, String path, int flags, PipeData data, GhostFifo ghost) {
        this.fileId = fileId;
        this.pipeId = pipeId;
        this.path = path;
        this.flags = flags;
        this.data = data;
        this.ghost = ghost;
    }

    @Override
    public List<Dependency> dependencies() {
        if (ghost != null && ghost.creator() != fileId) {
            return List.of(Dependency.beforeOpen(ghost.creator(), Stage.OPEN, "the unlinked FIFO " + path
                    + " is recreated and opened by file " + ghost.creator()));
        }
        return List.of();
    }

    boolean restoresData() {
        return data != null;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        String root = ctx.root().toString();
        List<Integer> owned = new ArrayList<>();
        try {
            int pathFd;
            if (ghost != null && ghost.creator() == fileId) {
                pathFd = ghost.createAndOpen(ctx, t, owned);
            } else if (ghost != null) {
                OptionalInt handed = ctx.takeHandOff();
                if (handed.isEmpty()) {
                    ctx.waitingFor("waits for file " + ghost.creator() + " to recreate the unlinked FIFO " + path);
                    return OpenResult.again();
                }
                pathFd = handed.getAsInt();
                owned.add(pathFd);
            } else {
                int rootFd = t.open(root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                owned.add(rootFd);
                try {
                    pathFd = t.openAt2(rootFd, path, O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
                } catch (SysException e) {
                    if (e.errno() == Errno.ENOENT) {
                        throw new IOException(describe() + ": " + path + " does not exist under root " + root, e);
                    }
                    throw e;
                }
                owned.add(pathFd);
            }
            TaskTable.Stat st = t.fstat(pathFd);
            if (st.type() != S_IFIFO) {
                throw new IOException(describe() + ": " + path + " under root " + root + " is not a FIFO (mode "
                        + Flags.octal(st.mode()) + ")");
            }
            String proc = Flags.procFd(pathFd);
            int fake = t.open(proc, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
            owned.add(fake);
            int real = t.open(proc, (flags & Flags.FIFO_OPEN_MASK) | O_CLOEXEC, 0);
            owned.add(real);
            if (data != null) {
                data.restoreInto(t, fake, "fifo " + path + ", pipe");
            }
            // Close the fake fd, the O_PATH fd and the root fd; the real fd keeps the fifo (and its data).
            while (owned.size() > 1) {
                int fd = owned.get(owned.size() - 2);
                t.close(fd);
                owned.remove(owned.size() - 2);
            }
            return OpenResult.done(real);
        } catch (SysException e) {
            IOException failure = new IOException(describe() + ": " + e.getMessage(), e);
            t.closeAll(owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            t.closeAll(owned, e);
            throw e;
        }
    }

    private String describe() {
        return "fifo " + path + " (file " + fileId + ", pipe " + pipeId + ", flags " + Flags.octal(flags) + ")"
                + (ghost != null ? " (unlinked; restored from " + ghost + ")" : "");
    }

    @Override
    public String toString() {
        return describe();
    }
}
