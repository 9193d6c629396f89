package fdrestore.api.spi;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * The restorer of a file that only its task's own process can open (a pidfd of a live task, an open of
 * {@code /dev/tty}, a procfs file of a task of the tree): the task's table holds {@code /dev/null} at the
 * fd until then, and the process opens the real file over it through the kind's {@link ProcessAction}.
 * A subclass names the file in {@link #toString()}, which errors quote.
 */
public abstract class PlaceholderRestorer implements FileRestorer {
    @Override
    public final OpenResult open(OpenContext ctx) throws Exception {
        try {
            return OpenResult.done(ctx.table().open("/dev/null", Linux.O_RDWR | Linux.O_CLOEXEC, 0));
        } catch (SysException e) {
            throw new IOException(this + ": its placeholder /dev/null: " + e.getMessage(), e);
        }
    }

    @Override
    public abstract String toString();
}
