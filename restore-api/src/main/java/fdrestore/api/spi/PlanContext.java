package fdrestore.api.spi;

import fdrestore.api.image.ImageSet;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

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

    /**
     * A value shared by every kind's planning of this restore, made once: the first call for {@code key}
     * makes it, later calls get the same object (an index of the image set's pipes, the names bound so
     * far ...). It lives as long as the plan, so a plugin keeps no static cache. Keys are compared with
     * {@code equals}: a class of the plugin (or a record of it) keeps them apart from other plugins' keys.
     * {@code make} may itself ask the memo for another key.
     */
    default <T> T memo(Object key, Supplier<T> make) {
        throw new UnsupportedOperationException("this PlanContext (" + getClass().getName() + ") keeps no memo");
    }

    /** The store behind {@link #memo}, for contexts to hold one each. Thread-safe. */
    final class Memo {
        private final Map<Object, Object> values = new HashMap<>();

        /** The value for {@code key}, made by {@code make} on first use. */
        @SuppressWarnings("unchecked")
        public synchronized <T> T get(Object key, Supplier<T> make) {
            Object v = values.get(key);
            if (v == null) {
                v = make.get();
                values.put(key, v);
            }
            return (T) v;
        }
    }
}
