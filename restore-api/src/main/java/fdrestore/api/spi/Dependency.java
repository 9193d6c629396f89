package fdrestore.api.spi;

import java.util.Objects;

/**
 * A declared dependency of one file on another, known before any syscall. The engine uses it to refuse
 * cycles up front, to wake the waiting task when the other file changes stage, and to report who waits
 * for what when a restore stalls.
 *
 * <ul>
 * <li>{@link #beforeOpen}: the engine calls {@code open} for the first time only once the other file
 * reached {@code stage} (a tty slave needs its master RESTORED).</li>
 * <li>{@link #beforeDone}: {@code open} may run and even report its fd, but cannot finish before the other
 * file reached {@code stage}; the plugin checks {@link OpenContext#stage} and answers Again (an epoll adds
 * a target once the target is RESTORED).</li>
 * </ul>
 * With {@code sameTask}, the stage is that of the other file's fd slot in the waiting task's own table
 * (an epoll target must live in the table of the task that adds it); otherwise it is the stage of the other
 * file's master.
 */
public record Dependency(long fileId, Stage stage, boolean gatesOpen, boolean sameTask, String why) {
    public Dependency {
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(why, "why");
        if (stage == Stage.INITIALIZED) {
            throw new IllegalArgumentException("a dependency on INITIALIZED is always met");
        }
    }

    /** Do not call open before file {@code fileId}'s master reached {@code stage}. */
    public static Dependency beforeOpen(long fileId, Stage stage, String why) {
        return new Dependency(fileId, stage, true, false, why);
    }

    /** This file cannot be RESTORED before file {@code fileId}'s master reached {@code stage}. */
    public static Dependency beforeDone(long fileId, Stage stage, String why) {
        return new Dependency(fileId, stage, false, false, why);
    }

    /** Same, for the other file's fd slot in this task's own table. */
    public Dependency inSameTask() {
        return new Dependency(fileId, stage, gatesOpen, true, why);
    }
}
