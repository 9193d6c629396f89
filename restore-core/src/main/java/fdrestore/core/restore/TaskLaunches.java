package fdrestore.core.restore;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.core.process.Holder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What each task of the images becomes as a process, from the images and the options alone (no plugin,
 * no syscall): which table it uses (CLONE_FILES), whether it runs its recorded command or the holder, and
 * where it starts.
 */
public final class TaskLaunches {
    private final ImageSet images;
    private final Path root;
    private final Restorer.Launch launch;
    private final boolean forceHolder;
    /** Per task (image pid), the task whose table it uses: itself, or the first task sharing its files_id. */
    private final Map<Integer, Integer> owners = new HashMap<>();
    /** The tasks (image pids) that have a child in the images. */
    private final Set<Integer> parents = new HashSet<>();
    /** Per task that owns a table other tasks share, those tasks. */
    private final Map<Integer, List<Integer>> sharersOf = new HashMap<>();

    TaskLaunches(ImageSet images, Restorer.Options options) {
        this.images = images;
        this.root = options.root();
        this.launch = options.launch();
        this.forceHolder = options.forceHolder();
        Map<Long, Integer> firstOfTable = new HashMap<>();
        for (Task t : images.tasks()) {
            int owner = firstOfTable.computeIfAbsent(t.filesId(), k -> t.pid());
            owners.put(t.pid(), owner);
            if (t.ppid() != t.pid()) {
                parents.add(t.ppid());
            }
            if (owner != t.pid()) {
                sharersOf.computeIfAbsent(owner, k -> new ArrayList<>()).add(t.pid());
            }
        }
    }

    ImageSet images() {
        return images;
    }

    /** The tasks (image pids) that share the table task {@code owner} owns; empty when none does. */
    List<Integer> sharersOf(int owner) {
        return sharersOf.getOrDefault(owner, List.of());
    }

    /** The directory task {@code t} starts in (see {@link fdrestore.core.process.TreePlan#cwd}). */
    String cwd(Task t) {
        return missingCwd(t) != null ? "/" : recordedCwd(t); // missing: --cwd-fallback was given (else plan failed)
    }

    /** The task whose fd table task {@code t} uses: itself, or the first task of the images sharing it. */
    int tableOwner(Task t) {
        return owners.getOrDefault(t.pid(), t.pid());
    }

    /** True when some task of the images is a child of task {@code t}. */
    boolean hasChildren(Task t) {
        return parents.contains(t.pid());
    }

    /** True when task {@code t} shares its fd table with another task of the images (CLONE_FILES). */
    boolean sharesTable(Task t) {
        return tableOwner(t) != t.pid() || sharersOf.containsKey(t.pid());
    }

    /**
     * The working directory task {@code t} had, as an absolute path of the image's file system: from
     * fs-PID.img (the cwd's file entry), else from fdr-task.img; null when neither records one.
     */
    private String recordedCwd(Task t) {
        return recordedCwd(images, t);
    }

    /** {@link #recordedCwd(Task)} of task {@code t} of {@code images}. */
    static String recordedCwd(ImageSet images, Task t) {
        if (t.fs() != null) {
            String cwd = images.dirPath(Integer.toUnsignedLong(t.fs().getCwdId()));
            if (cwd != null) {
                return cwd;
            }
        }
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        return fdr != null && fdr.hasCwd() ? fdr.getCwd().toString(StandardCharsets.UTF_8) : null;
    }

    /**
     * The recorded cwd of task {@code t} when it is missing (or not a directory) under the root, else null.
     * Resolved as the holder resolves it: ".." never goes above the root (lexically here; the holder uses
     * openat2 RESOLVE_IN_ROOT, which also keeps symbolic links inside).
     */
    String missingCwd(Task t) {
        if (ghostCwdFd(t) >= 0) {
            return null; // a removed directory the task holds open: entered through that fd
        }
        String cwd = recordedCwd(t);
        if (cwd == null) {
            return null;
        }
        Path under = root.resolve(Path.of("/").resolve(cwd).normalize().toString().substring(1));
        return Files.isDirectory(under) ? null : cwd;
    }

    /**
     * The command task {@code t} runs, as its images record it (argv, env, cwd); null when it runs the
     * holder: with --hold, when nothing is recorded, and when what is recorded is a holder's own command
     * line (images dumped from a restored tree by an older fdrestore: that line names fds of a restore
     * that is over, into which the holder would write).
     */
    FdrTaskEntry command(Task t) {
        if (!launch.exec() || forceHolder || sharesTable(t) || hasChildren(t)) {
            // An exec would unshare a shared table: its tasks always hold. A task with children in the
            // images holds too: its command would start them again, beside the restored ones.
            return null;
        }
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        if (fdr == null || fdr.getArgvCount() == 0 || Holder.isHolder(fdr.getArgv(0).toString(StandardCharsets.UTF_8))
                || !execd(t)) {
            return null;
        }
        return fdr;
    }

    /**
     * True when task {@code t} exec'd a program of its own, so that running its recorded command is what
     * it was doing (with {@link Restorer.Launch#exec} it then runs it, unless it has children in the images or shares
     * its fd table): as the dump recorded it (fdr-task.img's {@code execd}, see the Dumper), or, for images
     * of an older dump, when its recorded command line differs from its parent's (a task whose parent is
     * not in the images always counts as exec'd). A forked child that never exec'd runs the holder: its
     * command line is its parent's, and running it would start the parent's program a second time.
     */
    boolean execd(Task t) {
        FdrTaskEntry fdr = images.fdrTask(t.pid()).orElse(null);
        if (fdr == null || fdr.getArgvCount() == 0) {
            return false;
        }
        if (fdr.hasExecd()) {
            return fdr.getExecd();
        }
        FdrTaskEntry parent = images.task(t.ppid()).flatMap(p -> images.fdrTask(p.pid())).orElse(null);
        return parent == null || !parent.getArgvList().equals(fdr.getArgvList());
    }

    /** The number of tasks that run their recorded command in this restore (0 without {@link Restorer.Launch#exec}). */
    int commandsToRun() {
        int n = 0;
        for (Task t : images.tasks()) {
            n += command(t) != null ? 1 : 0;
        }
        return n;
    }

    /** See {@link fdrestore.core.process.TreePlan#ghostCwdFd}. */
    int ghostCwdFd(Task t) {
        return images.removedCwdFd(t);
    }
}
