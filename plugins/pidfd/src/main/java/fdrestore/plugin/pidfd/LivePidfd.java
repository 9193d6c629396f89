package fdrestore.plugin.pidfd;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * A pidfd of a live task of the tree. That task's process does not exist while the tables are restored,
 * so the table holds {@code /dev/null} at the fd for now, and the holding task's own process opens the
 * pidfd over it once the real pid is known ({@link fdrestore.api.spi.ProcessAction.Pidfd}, from
 * {@link PidfdKind#processActions}).
 */
final class LivePidfd implements FileRestorer {
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 02000000;

    private final long id;
    private final int target;

    LivePidfd(long id, int target) {
        this.id = id;
        this.target = target;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        try {
            return OpenResult.done(ctx.table().open("/dev/null", O_RDWR | O_CLOEXEC, 0));
        } catch (SysException e) {
            throw new IOException(this + ": its placeholder /dev/null: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "pidfd file " + id + " of task " + target + ", opened by its task's process";
    }
}
