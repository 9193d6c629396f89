package fdrestore.core.spi;

import fdrestore.core.image.FdType;
import fdrestore.core.image.ImageSet;
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
