package fdrestore.api.spi;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import java.util.List;
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
}
