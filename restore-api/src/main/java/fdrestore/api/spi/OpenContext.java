package fdrestore.api.spi;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * What a plugin's {@link FileRestorer#open open} may use during one call: the master task's fd table and
 * the engine's view of other files. Valid only during the call.
 */
public interface OpenContext {
    /**
     * True when this file's {@link FileRestorer#prepare prepare} calls ran, in the pass's shared batch,
     * and their results can be read; false when it took no part or the shared batch failed.
     */
    default boolean prepared() {
        return false;
    }

    /**
     * When the pass's shared batch failed on one of this file's {@link FileRestorer#prepare prepare}
     * calls: that failure, for {@code open} to report; null otherwise.
     */
    default fdrestore.api.sys.SysException prepareFailure() {
        return null;
    }

    /** The file being opened. */
    FileInfo file();

    /** The fd slot that opens it (the master). */
    FleInfo master();

    /** The master task's fd table: every syscall goes through it. */
    TaskTable table();

    /**
     * This file's fd at its final number in the master's table, once an earlier call reported it
     * ({@link OpenResult#again(int)}); empty before.
     */
    OptionalInt fd();

    /** The stage of file {@code fileId}'s master. */
    Stage stage(long fileId);

    /** The stage of file {@code fileId}'s fd slot in this (the master's) task, or empty if it has none here. */
    java.util.Optional<Stage> stageInThisTask(long fileId);

    /** The final fd number of file {@code fileId} in this task's table, or empty if this task has none. */
    OptionalInt fdInThisTask(long fileId);

    /**
     * Nested sharing: hands {@code fd} (a temporary fd of this table; ownership passes to the engine) to
     * the master of file {@code fileId}, which takes it with {@link #takeHandOff()}. Same task or not, the
     * engine delivers it; across tasks it travels over the transport.
     */
    void handOff(long fileId, int fd);

    /**
     * The fd handed to this file by {@link #handOff}, as a temporary fd of this table now owned by the
     * caller, or empty if none has arrived yet (answer Again: the arrival wakes this task).
     */
    OptionalInt takeHandOff();

    /** Announces a plugin-level condition (for example "unix socket 1234 is bound") and wakes its waiters. */
    void signal(String condition);

    /** True if {@code condition} was signalled; if not, this task is woken when it is. */
    boolean signalled(String condition);

    /** Describes, for a stall report, what an Again answer is waiting for. */
    void waitingFor(String what);

    /** The directory that image paths resolve under ({@code --root}), "/" by default. */
    Path root();

    /** A restore-wide option by name (plugin-specific switches such as {@code pty-any-index}); null if unset. */
    String option(String name);

    /**
     * Where this restore records the file system entries it makes outside its processes (socket files,
     * ghosts, directories for deleted names) before making them; {@link Journal#NONE} when it keeps none.
     */
    default Journal journal() {
        return Journal.NONE;
    }
}
