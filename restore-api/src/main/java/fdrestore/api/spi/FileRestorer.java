package fdrestore.api.spi;

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

    /**
     * Optional first step for restorers whose opening starts with a fixed list of calls: add them to
     * {@code batch}, which the engine shares among every master of the task that is ready to open in
     * this pass and runs in one hand-off before their {@link #open} calls (one hand-off for many files
     * instead of one each). Return the Refs of the fds those calls leave open: they are the engine's
     * until {@code open} is called (an abort in between closes them), then this restorer's. Return null
     * to take no part (the default).
     *
     * <p>In {@code open}, {@link OpenContext#prepared()} says whether the shared batch ran. If it failed,
     * every fd it made was closed: the file whose call failed finds that failure in
     * {@link OpenContext#prepareFailure()} (and reports it, in its own words), the others find
     * {@code prepared()} false and make their calls themselves. Called at most once per file, after its
     * open-gating dependencies are met, on the master's task loop. If it throws, the restore fails and
     * the shared batch is not run.
     */
    default List<Batch.Ref> prepare(OpenContext ctx, Batch batch) {
        return null;
    }

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
