package fdrestore.api.spi;

import fdrestore.api.image.ImageSet;
import java.nio.file.Path;

/** What a {@link FileKind} may read while it plans the restore of one file, before any syscall. */
public interface PlanContext {
    /** The whole image set. */
    ImageSet images();

    /** The directory that image paths resolve under ({@code --root}), "/" by default. */
    Path root();

    /** A restore-wide option by name; null if unset. */
    String option(String name);

    /**
     * The {@link FleInfo#inFlight} slot of file {@code fileId} when it exists only in flight and a kind
     * asked for it ({@link FileKind#inFlight}); null otherwise.
     */
    default FleInfo inFlight(long fileId) {
        return null;
    }
}
