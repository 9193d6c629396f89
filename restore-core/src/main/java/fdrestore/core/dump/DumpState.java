package fdrestore.core.dump;

import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.LiveFile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one dump has found and will write: the tasks of the tree with their fd slots, the open file
 * descriptions behind them, the fds it keeps open, and the entries, notes and skips that its images and
 * its report are made of. {@link Dumper} fills it in phases ({@link FdReader}, {@link DescContext},
 * {@link TreeImages}).
 */
final class DumpState {
    /** One task of the tree. */
    static final class Task {
        final int pid;
        final ProcFs.Stat stat;
        final List<Integer> threads;
        final boolean wasStopped;
        long vmId;
        long filesId;
        long fsId;
        long sighandId;
        /** The task whose fd table this one shares (itself when it has its own). */
        Task tableOwner;
        final List<Slot> slots = new ArrayList<>();
        int pidfd = -1;

        Task(int pid, ProcFs.Stat stat, List<Integer> threads, boolean wasStopped) {
            this.pid = pid;
            this.stat = stat;
            this.threads = threads;
            this.wasStopped = wasStopped;
        }
    }

    /** One fd slot. */
    record Slot(Task task, int fd, LiveFile live, boolean cloexec, Desc desc) {
    }

    /** One open file description. */
    static final class Desc {
        final long id;
        final int copy;
        final List<Slot> slots = new ArrayList<>();
        FileDumper dumper;
        String kind;
        FileEntry entry;
        String skipped;

        Desc(long id, int copy) {
            this.id = id;
            this.copy = copy;
        }

        Slot first() {
            return slots.get(0);
        }
    }

    final List<Task> tasks = new ArrayList<>();
    final Map<Integer, Task> byPid = new HashMap<>();
    final List<Desc> descs = new ArrayList<>();
    /** The fds of this JVM the dump closes at its end (pidfds, one copy per description). */
    final List<Integer> ownedFds = new ArrayList<>();
    /** {@link fdrestore.api.spi.DumpContext#memo}: values shared by every description of the dump. */
    final Map<String, Object> memo = new HashMap<>();
    final List<String> notes = new ArrayList<>();
    final List<DumpResult.Skipped> skipped = new ArrayList<>();
    final ImageSink sink = new ImageSink();
    final List<FileEntry> files = new ArrayList<>();
    private long nextId = 1;

    /** A new file id. */
    long newId() {
        return nextId++;
    }
}
