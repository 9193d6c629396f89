package fdrestore.testkit;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@link PlanContext} of a test: the image set, a root ("/" unless set), the options the test sets, the
 * in-flight slots it gives and a memo of its own, as the engine's planner keeps one per restore. Make one
 * per plan; the setters return the context, so a test writes
 * {@code TestPlanContext.of(images).root(dir).option(NetlinkKind.PORT_OPTION, "7")}.
 */
public final class TestPlanContext implements PlanContext {
    private final ImageSet images;
    private Path root = Path.of("/");
    private final Map<String, String> options = new HashMap<>();
    private final Map<Long, FleInfo> inFlight = new HashMap<>();
    private final PlanContext.Memo memo = new PlanContext.Memo();

    private TestPlanContext(ImageSet images) {
        this.images = images;
    }

    /** A context over {@code images} (null for a kind that plans without reading them). */
    public static TestPlanContext of(ImageSet images) {
        return new TestPlanContext(images);
    }

    /** Image paths resolve under {@code root} ({@code --root}). */
    public TestPlanContext root(Path root) {
        this.root = root;
        return this;
    }

    /** Sets the restore-wide option {@code name}; a null value unsets it. */
    public TestPlanContext option(String name, String value) {
        if (value == null) {
            options.remove(name);
        } else {
            options.put(name, value);
        }
        return this;
    }

    /** Sets every option of {@code values}, as the CLI's plugin options would. */
    public TestPlanContext options(Map<String, String> values) {
        values.forEach(this::option);
        return this;
    }

    /** The options set so far (read-only). */
    public Map<String, String> options() {
        return java.util.Collections.unmodifiableMap(options);
    }

    /** File {@code fileId} exists only in flight, in {@code slot}. */
    public TestPlanContext inFlight(long fileId, FleInfo slot) {
        inFlight.put(fileId, slot);
        return this;
    }

    @Override
    public ImageSet images() {
        return images;
    }

    @Override
    public Path root() {
        return root;
    }

    @Override
    public String option(String name) {
        return options.get(name);
    }

    @Override
    public FleInfo inFlight(long fileId) {
        return inFlight.get(fileId);
    }

    @Override
    public <T> T memo(Object key, Supplier<T> make) {
        return memo.get(key, make);
    }
}
