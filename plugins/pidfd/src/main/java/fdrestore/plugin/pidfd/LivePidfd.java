package fdrestore.plugin.pidfd;

import fdrestore.api.spi.PlaceholderRestorer;

/**
 * A pidfd of a live task of the tree. That task's process does not exist while the tables are restored,
 * so the table holds {@code /dev/null} at the fd for now, and the holding task's own process opens the
 * pidfd over it once the real pid is known ({@link fdrestore.api.spi.ProcessAction.Pidfd}, from
 * {@link PidfdKind#processActions}).
 */
final class LivePidfd extends PlaceholderRestorer {
    private final long id;
    private final int target;

    LivePidfd(long id, int target) {
        this.id = id;
        this.target = target;
    }

    @Override
    public String toString() {
        return "pidfd file " + id + " of task " + target + ", opened by its task's process";
    }
}
