package fdrestore.app.cli;

/**
 * What a restore reports as it goes, for a progress display. The engine and the restorer call it from
 * their own threads (never from a task's executor thread), so implementations only update counters:
 * no I/O, no locks, no allocation in {@link #fdsDone} and {@link #taskDone}.
 *
 * <p>Today {@link RestoreCommand} reports the phases and totals; the per-fd and per-task counts and the
 * wait-for of a stall need a hook in {@code Restorer.Options} (asked of the core).
 */
public interface RestoreProgress {
    /** The phase that starts now: "plan", "tables", "engine", "processes", "verify". */
    void phase(String phase);

    /** The totals of this restore (from the images). */
    void totals(int tasks, int fds);

    /** One more task has every fd in its table. */
    void taskDone();

    /** {@code n} more fds are restored (at their numbers). */
    void fdsDone(int n);

    /** What the engine waits for while nothing progresses ("task 7 fd 3 waits for ..."), or null. */
    void waiting(String waitFor);

    /** A progress that shows nothing. */
    RestoreProgress NONE = new RestoreProgress() {
        @Override
        public void phase(String phase) {
        }

        @Override
        public void totals(int tasks, int fds) {
        }

        @Override
        public void taskDone() {
        }

        @Override
        public void fdsDone(int n) {
        }

        @Override
        public void waiting(String waitFor) {
        }
    };
}
