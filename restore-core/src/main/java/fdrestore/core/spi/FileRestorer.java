package fdrestore.core.spi;

import java.util.List;

/**
 * Restores one open file description. Made by a {@link FileKind} from the images before any syscall;
 * called by the engine on the master's task loop (never on an executor thread) until it answers Done or
 * Fail. Implementations keep their own progress between calls, but never a raw fd number: after Again,
 * ask {@link OpenContext#fd()}.
 */
public interface FileRestorer {
    /** One step of the open: see {@link OpenResult}. Exceptions are treated as Fail. */
    OpenResult open(OpenContext ctx) throws Exception;

    /** Dependencies on other files, known before any syscall. */
    default List<Dependency> dependencies() {
        return List.of();
    }

    /**
     * The fd slot that must open this file, or null for the engine's rule (lowest pid, then lowest fd).
     * Pipes, socketpairs and orphan pty slaves override it.
     */
    default FleInfo chooseMaster(List<FleInfo> fles) {
        return null;
    }

    /**
     * The restore failed (this file or another one): undo what this restorer made outside the task
     * tables, for example a socket file it bound under --root. Fds need no care: the tables are dropped.
     * Called once on every planned restorer, whatever its state; must not throw for "nothing to undo".
     */
    default void abort() throws Exception {
    }
}
