package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_RDWR;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.io.IOException;

/**
 * An open of {@code /dev/tty} (criu's CTTY). Such an open is bound to the controlling terminal of the
 * process that makes it, which a task table (a thread of fdrestore) cannot have: the table gets
 * {@code /dev/null} at the fd for now, and the task's own process opens {@code /dev/tty} over it once its
 * session has its controlling terminal ({@link fdrestore.api.spi.ProcessAction.ReopenControllingTty},
 * from {@link TtyKind#processActions}). So the file is one task's: several tasks sharing one open of
 * /dev/tty are refused at plan time.
 */
final class CttyFile implements FileRestorer {
    private final TtyFile file;

    CttyFile(TtyFile file) {
        this.file = file;
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
        return file + ", reopened by its task's process";
    }
}
