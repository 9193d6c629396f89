package fdrestore.api.spi;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pf4j.ExtensionPoint;

/**
 * The extension point of a file kind. A plugin contributes one per kind; two plugins claiming the same
 * fd type is an error at start.
 */
public interface FileKind extends ExtensionPoint {
    /** Short name of the kind, for example "pipe". */
    String name();

    /** The fd types ({@code FdinfoEntry.type}) this kind restores. */
    Set<FdType> fdTypes();

    /**
     * Makes the restorer of one file description. Throws {@link PlanException} when the images cannot
     * be restored by this kind (a missing entry, an unsupported state); nothing has been opened yet.
     */
    FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException;

    /**
     * What {@code task} must do as it becomes a process (its controlling terminal, the foreground group
     * of a tty), from this kind's view of the images. None by default.
     */
    default List<ProcessAction> processActions(ImageSet.Task task, PlanContext ctx) throws PlanException {
        return List.of();
    }

    /**
     * A one-line description of {@code entry}, a file of this kind, for {@code show}, the graph and error
     * reports (its fields as a reader wants them: "signalfd sigmask 0x200 (SIGUSR1) O_NONBLOCK"). Null lets
     * core describe it. No syscall.
     */
    default String describe(fdrestore.api.image.proto.FileEntry entry, ImageSet images) {
        return null;
    }

    /**
     * What {@code --verify} checks beyond core's checks (fd number, FD_CLOEXEC, sharing, the tree): one
     * restored fd of this kind, as its process shows it ({@code link} from /proc/PID/fd, its fdinfo),
     * against its {@code entry}. Returns one readable line per mismatch ("sigmask 0x0, expected 0x200"),
     * none when it matches; core prefixes the task and fd.
     */
    default List<String> verify(fdrestore.api.image.proto.FileEntry entry, String link, Fdinfo fdinfo) {
        return List.of();
    }

    /**
     * {@link #verify(fdrestore.api.image.proto.FileEntry, String, Fdinfo)} with the image set and the
     * directory the restore resolved paths under ({@code --root}), for the checks that need them (the
     * path a file should show, see {@link FdChecks}). Calls the short form by default.
     */
    default List<String> verify(fdrestore.api.image.proto.FileEntry entry, String link, Fdinfo fdinfo,
                                ImageSet images, java.nio.file.Path root) {
        return verify(entry, link, fdinfo);
    }

    /**
     * The name {@code restore --inherit-fd fd[N]:KEY} gives a file of this kind by (criu's {@code inherited_fd}
     * names: "pipe:[PIPE_ID]", "socket:[INO]", "tty[RDEV:DEV]", a regular file's path), or null, the default,
     * when a file of this kind cannot be taken from the caller. Keys are compared without leading slashes.
     * Asked only when {@code --inherit-fd} is given; no syscall.
     */
    default String inheritKey(FileEntry entry, ImageSet images) {
        return null;
    }

    /**
     * True when the images hold only the name of {@code entry}, not what to restore it from (a file criu
     * dumped as external, {@code --external file[MNT_ID:INODE]}): only an {@code --inherit-fd} mapping of its
     * {@link #inheritKey} restores it, and without one the restore is refused before it starts. False by
     * default.
     */
    default boolean inheritOnly(FileEntry entry) {
        return false;
    }

    /**
     * The kernel object a file of this kind is one open file of, when other files can be on it too (the
     * pipe of a pipe end or a FIFO): {@code show} lists each object with its files, the graph draws it,
     * and {@code --verify} checks that the files of one object are on one kernel object again and those of
     * different objects on different ones. Null (the default) when the file is its own object.
     */
    default KernelObject object(fdrestore.api.image.proto.FileEntry entry) {
        return null;
    }

    /**
     * A kernel object behind several files: {@code noun} names its kind in messages ("pipe"; "pipes" for
     * several), {@code id} tells it from the others of its kind (a pipe id).
     */
    record KernelObject(String noun, long id) implements Comparable<KernelObject> {
        @Override
        public int compareTo(KernelObject o) {
            int c = noun.compareTo(o.noun);
            return c != 0 ? c : Long.compare(id, o.id);
        }

        @Override
        public String toString() {
            return noun + " " + id;
        }
    }

    /**
     * The kernel objects of {@code images} ({@link #object}) with the ids of the files on each, in
     * files.img order; objects by noun, then id.
     */
    static java.util.SortedMap<KernelObject, List<Long>> objects(ImageSet images,
            java.util.Map<FdType, ? extends FileKind> kinds) {
        java.util.SortedMap<KernelObject, List<Long>> out = new java.util.TreeMap<>();
        for (fdrestore.api.image.proto.FileEntry f : images.files().values()) {
            FileKind k = kinds.get(FdType.of(f.getType()));
            KernelObject o = k == null ? null : k.object(f);
            if (o != null) {
                out.computeIfAbsent(o, x -> new java.util.ArrayList<>()).add(Integer.toUnsignedLong(f.getId()));
            }
        }
        return out;
    }

    /**
     * The members {@code show --json} gives every fd (docs/fdrestore.schema.json), where this kind has
     * them: the path (a FIFO's and a tty's that of their path entry, a unix socket's its name), the open
     * flags and the position. Null, the default, when it has none of them.
     */
    default Summary summary(fdrestore.api.image.proto.FileEntry entry, ImageSet images) {
        return null;
    }

    /** See {@link #summary}: each member null where the kind has none. */
    record Summary(String path, Integer flags, Long pos) {
    }

    /**
     * What the graph draws from a file of this kind besides its fds and their sharing: a link to a task
     * of the tree (a pidfd's process) or to a named object (a watched path). None by default.
     */
    default List<GraphLink> graphLinks(fdrestore.api.image.proto.FileEntry entry, ImageSet images) {
        return List.of();
    }

    /**
     * One edge of the graph from a file's master fd: to task {@code taskPid} of the images when it is
     * above 0, else to an object node labelled {@code object}; {@code label} names the edge.
     */
    record GraphLink(int taskPid, String object, String label) {
    }

    /**
     * The graph's edges between a file of this kind and other files of the images, drawn between their
     * master fds: its peer (drawn once for the pair) and the files it is restored after. None by default.
     */
    default List<FileEdge> graphEdges(fdrestore.api.image.proto.FileEntry entry, ImageSet images) {
        return List.of();
    }

    /**
     * An edge of the graph to the master fd of file {@code fileId}, or, when {@code fileId} is below 0, to
     * fd {@code fd} of the task that holds this file's master (an epoll's target); {@code label} names it.
     */
    record FileEdge(boolean peer, long fileId, int fd, String label) {
        /** Two files that are each other's peer (a connected socket pair). */
        public static FileEdge peer(long fileId, String label) {
            return new FileEdge(true, fileId, -1, label);
        }

        /** This file is restored after file {@code fileId}. */
        public static FileEdge after(long fileId, String label) {
            return new FileEdge(false, fileId, -1, label);
        }

        /** This file is restored after fd {@code fd} of its master's task. */
        public static FileEdge afterFd(int fd, String label) {
            return new FileEdge(false, -1, fd, label);
        }
    }

    /** The kinds by the fd types they restore (the first claim wins, as the host refuses two). */
    static java.util.Map<FdType, FileKind> byType(java.util.Collection<? extends FileKind> kinds) {
        java.util.Map<FdType, FileKind> m = new java.util.EnumMap<>(FdType.class);
        for (FileKind k : kinds) {
            for (FdType t : k.fdTypes()) {
                m.putIfAbsent(t, k);
            }
        }
        return m;
    }

    /**
     * The keys of the plugin options this kind reads ({@code PlanContext.option}, {@code OpenContext.option}),
     * given with {@code restore --plugin-option KEY=VALUE}. A key no kind names is refused before the
     * restore starts. None by default.
     */
    default Set<String> options() {
        return Set.of();
    }

    /**
     * Files that no fd of the images refers to but that this kind's restorers need an fd of (a file that
     * exists only in flight, passed in a queued SCM_RIGHTS message), by file id, with the image pid of the
     * task that needs it. The restore plans each with the plugin of its own kind at an
     * {@link FleInfo#inFlight} slot of that task ({@link PlanContext#inFlight} tells every plugin before
     * it plans); none by default. Called once per restore, before any {@link #plan}; no syscall.
     */
    default java.util.Map<Long, Integer> inFlight(ImageSet images) throws PlanException {
        return java.util.Map.of();
    }

    /**
     * A one-line description of file {@code f} by the kind of {@code kinds} that restores it
     * ({@link #describe(FileEntry, ImageSet)}), or by the image model when that kind has none (or there is no
     * such kind): what {@code show} and {@code graph} print.
     */
    static String describe(Map<FdType, ? extends FileKind> kinds, ImageSet images, FileEntry f) {
        FileKind k = kinds.get(FdType.of(f.getType()));
        if (k != null) {
            try {
                String d = k.describe(f, images);
                if (d != null) {
                    return d;
                }
            } catch (RuntimeException e) {
                return Describe.kind(f) + " (cannot describe: " + e.getMessage() + ")";
            }
        }
        return Describe.file(images, f);
    }
}
