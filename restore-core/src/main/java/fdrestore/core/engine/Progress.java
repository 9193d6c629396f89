package fdrestore.core.engine;

/**
 * What a restore reports while it runs, for a progress display or a log. Called from engine threads: keep
 * implementations cheap and thread-safe (counters, not I/O). Every method has a no-op default.
 */
public interface Progress {
    /** No reporting. */
    Progress NONE = new Progress() {
    };

    /** A phase starts: "plan", "tables", "engine", "spawn", "verify" ... */
    default void phase(String name) {
    }

    /** {@code n} more fd slots are restored (reported once per task-loop pass, not per fd). */
    default void fdsRestored(int n) {
    }

    /** Every fd slot of task {@code pid} (image pid) is restored. */
    default void taskDone(int pid) {
    }

    /**
     * Nothing progressed for a while: {@code what} says how many tasks are still running and how many slots
     * are left (a full wait-for graph is only reported when the restore stalls). Told again at every check
     * while nothing progresses, so its counts are current; {@code null} once the restore moves again.
     */
    default void waiting(String what) {
    }
}
