package fdrestore.plugin.regularfile;

import fdrestore.api.spi.PlaceholderRestorer;

/**
 * A procfs file of a task of the tree ({@code /proc/PID/...}, criu keeps pids so its path was the same after
 * a restore). The task's process does not exist while the tables are restored, and /proc is not under
 * --root: the table holds {@code /dev/null} at the fd for now, and the task's own process opens
 * {@code /proc/REAL/...} over it, at the recorded position
 * ({@link fdrestore.api.spi.ProcessAction.ProcFile}, from {@link RegularFileKind#processActions}).
 */
final class ProcFilePlaceholder extends PlaceholderRestorer {
    private final long id;
    private final String name;

    ProcFilePlaceholder(long id, String name) {
        this.id = id;
        this.name = name;
    }

    @Override
    public String toString() {
        return "regular file " + name + " (file " + id + "), a procfs file opened by its task's process";
    }
}
