package fdrestore.core.restore;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.ProcessAction;
import fdrestore.core.process.TreePlan;
import java.util.List;
import java.util.Map;

/**
 * A restore as planned ({@link Planner#plan}), before any syscall: every file with the restorer that opens
 * it, and per task what it does as it becomes a process.
 *
 * @param files   every file to restore, in-flight ones first
 * @param actions per task (image pid), its plugins' process actions
 */
public record RestorePlan(List<Planned> files, Map<Integer, List<ProcessAction>> actions, TaskLaunches launches)
        implements TreePlan {
    public RestorePlan {
        files = List.copyOf(files);
        actions = Map.copyOf(actions);
    }

    /** A planned file: its info, the kind that restores it (null for an inherited fd) and the kind's restorer. */
    public record Planned(FileInfo info, FileKind kind, FileRestorer restorer) {
        /** The name the engine reports the file's plugin by. */
        public String kindName() {
            return kind == null ? "inherit-fd" : kind.name();
        }
    }

    /** Lets every planned restorer undo what it made outside the tables; their failures are suppressed. */
    void abortAll(Throwable cause) {
        for (Planned p : files) {
            try {
                p.restorer.abort();
            } catch (Exception | Error e) {
                cause.addSuppressed(e);
            }
        }
    }

    @Override
    public ImageSet images() {
        return launches.images();
    }

    @Override
    public List<ProcessAction> actions(int pid) {
        return actions.getOrDefault(pid, List.of());
    }

    @Override
    public int tableOwner(Task t) {
        return launches.tableOwner(t);
    }

    @Override
    public List<Integer> sharersOf(int owner) {
        return launches.sharersOf(owner);
    }

    @Override
    public FdrTaskEntry command(Task t) {
        return launches.command(t);
    }

    @Override
    public String cwd(Task t) {
        return launches.cwd(t);
    }

    @Override
    public int ghostCwdFd(Task t) {
        return launches.ghostCwdFd(t);
    }
}
