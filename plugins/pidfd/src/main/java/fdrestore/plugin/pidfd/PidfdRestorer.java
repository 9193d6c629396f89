package fdrestore.plugin.pidfd;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one pidfd of a process that is gone: takes a pidfd of its {@link DeadProcess} (made in the
 * JVM's table), sets PIDFD_NONBLOCK when the image has it, adopts it into the task and closes the JVM's.
 */
final class PidfdRestorer implements FileRestorer {
    private static final int F_SETFL = 4;

    private final long id;
    private final int flags;
    private final DeadProcess dead;

    PidfdRestorer(long id, int flags, DeadProcess dead) {
        this.id = id;
        this.flags = flags;
        this.dead = dead;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        int jvmFd;
        try {
            jvmFd = dead.take();
        } catch (IOException e) {
            throw new IOException(this + ": " + e.getMessage(), e);
        }
        List<Integer> owned = new ArrayList<>();
        try {
            if (flags != 0) {
                Syscalls.local("fcntl", jvmFd, F_SETFL, flags);
            }
            owned.add(ctx.table().adopt(jvmFd));
            Syscalls.closeLocal(jvmFd);
            jvmFd = -1;
            return OpenResult.done(owned.get(0));
        } catch (SysException e) {
            IOException failure = new IOException(this + ": " + e.getMessage(), e);
            if (jvmFd >= 0) {
                try {
                    Syscalls.closeLocal(jvmFd);
                } catch (SysException c) {
                    failure.addSuppressed(c);
                }
            }
            ctx.table().closeAll(owned, failure);
            throw failure;
        }
    }

    /** The pidfds of the gone process that no file took are closed (the restore failed first). */
    @Override
    public void abort() {
        dead.closeLeft(null);
    }

    @Override
    public String toString() {
        return "pidfd file " + id + " of a " + dead;
    }
}
