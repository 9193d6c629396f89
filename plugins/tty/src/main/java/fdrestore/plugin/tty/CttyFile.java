package fdrestore.plugin.tty;

import fdrestore.api.spi.PlaceholderRestorer;
import fdrestore.plugin.tty.TtyImages.TtyFile;

/**
 * An open of {@code /dev/tty} (criu's CTTY). Such an open is bound to the controlling terminal of the
 * process that makes it, which a task table (a thread of fdrestore) cannot have: the table gets
 * {@code /dev/null} at the fd for now, and the task's own process opens {@code /dev/tty} over it once its
 * session has its controlling terminal ({@link fdrestore.api.spi.ProcessAction.ReopenControllingTty},
 * from {@link TtyKind#processActions}). So the file is one task's: several tasks sharing one open of
 * /dev/tty are refused at plan time.
 */
final class CttyFile extends PlaceholderRestorer {
    private final TtyFile file;

    CttyFile(TtyFile file) {
        this.file = file;
    }

    @Override
    public String toString() {
        return file + ", reopened by its task's process";
    }
}
