package fdrestore.core.process;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.spi.ProcessAction;
import java.util.List;

/** What building the tree needs to know of a restore's plan: per task, what it becomes as a process. */
public interface TreePlan {
    ImageSet images();

    /** What task {@code pid} must do as it becomes a process (its plugins' {@link ProcessAction}s). */
    List<ProcessAction> actions(int pid);

    /** The task whose fd table task {@code t} uses: itself, or the first task of the images sharing it. */
    int tableOwner(Task t);

    /** The tasks (image pids) that share the table task {@code owner} owns; empty when none does. */
    List<Integer> sharersOf(int owner);

    /** The command task {@code t} runs, as its images record it; null when it runs the holder. */
    FdrTaskEntry command(Task t);

    /**
     * The working directory task {@code t} starts in, as a path under the root ("/" when the recorded one
     * is missing and the restore may fall back to the root); null when the images record none.
     */
    String cwd(Task t);

    /**
     * The fd of task {@code t} that holds the removed directory its cwd was (criu remapped both its cwd and
     * that fd's file to one ghost), or -1: the holder then enters that very directory with fchdir.
     */
    int ghostCwdFd(Task t);
}
