package fdrestore.core.engine;

import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a plugin's restorer sees of its task loop while the loop calls its prepare or open: the slot, the
 * table, the stages of other files, hand-offs and conditions. One per {@link TaskLoop}, pointed at the
 * slot being restored ({@link #current}).
 */
final class LoopContext implements OpenContext {
    private final TaskLoop loop;
    /** The slot whose restorer is being called; null between calls. */
    Fle current;
    /** Why the current restorer answered Again, when it said (for the stall report). */
    String reason;

    LoopContext(TaskLoop loop) {
        this.loop = loop;
    }

    @Override
    public FileInfo file() {
        return current.desc.info;
    }

    @Override
    public FleInfo master() {
        return current.info;
    }

    @Override
    public TaskTable table() {
        return loop.table;
    }

    @Override
    public OptionalInt fd() {
        return current.desc.opened ? OptionalInt.of(current.liveFd()) : OptionalInt.empty();
    }

    @Override
    public boolean prepared() {
        return current.desc.prepared;
    }

    @Override
    public SysException prepareFailure() {
        return current.desc.prepareFailure;
    }

    @Override
    public Stage stage(long fileId) {
        return loop.engine.desc(fileId).stage();
    }

    @Override
    public Optional<Stage> stageInThisTask(long fileId) {
        Fle f = loop.fleByFile.get(fileId);
        return f == null ? Optional.empty() : Optional.of(f.stage());
    }

    @Override
    public OptionalInt fdInThisTask(long fileId) {
        Fle f = loop.fleByFile.get(fileId);
        return f == null || f.liveFd() < 0 ? OptionalInt.empty() : OptionalInt.of(f.liveFd());
    }

    @Override
    public void handOff(long fileId, int fd) {
        FileDesc to = loop.engine.desc(fileId);
        int index = loop.engine.descIndex(to);
        if (to.master.task == loop) {
            loop.inbox.computeIfAbsent(index, k -> new ArrayDeque<>()).add(fd);
        } else {
            loop.post(new TaskLoop.Outgoing(to.master.task, fd, Tags.handOff(index), true));
        }
    }

    @Override
    public OptionalInt takeHandOff() {
        ArrayDeque<Integer> q = loop.inbox.get(loop.engine.descIndex(current.desc));
        if (q == null || q.isEmpty()) {
            reason = "waits for a hand-off of the shared object from another file's master";
            return OptionalInt.empty();
        }
        return OptionalInt.of(q.poll());
    }

    @Override
    public void signal(String condition) {
        loop.engine.signal(condition);
    }

    @Override
    public boolean signalled(String condition) {
        boolean yes = loop.engine.signalled(condition, loop);
        if (!yes) {
            reason = "waits for condition '" + condition + "'";
        }
        return yes;
    }

    @Override
    public void waitingFor(String what) {
        reason = what;
    }

    @Override
    public Path root() {
        return loop.engine.root;
    }

    @Override
    public String option(String name) {
        return loop.engine.options.get(name);
    }

    @Override
    public fdrestore.api.spi.Journal journal() {
        return loop.engine.journal;
    }
}
