package fdrestore.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the shipped image samples for tests. */
public final class Samples {
    private Samples() {
    }

    /** The images-samples directory of this checkout (system property fdrestore.samples, set by the build). */
    public static Path root() {
        String p = System.getProperty("fdrestore.samples");
        Path dir = p != null ? Paths.get(p) : Paths.get("images-samples");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("images-samples not found at " + dir.toAbsolutePath()
                    + " (set -Dfdrestore.samples)");
        }
        return dir;
    }

    /** One CRIU 4.2 sample set, for example {@code criu("a_pipe")}. */
    public static Path criu(String name) {
        return root().resolve("criu-4.2").resolve(name);
    }
}
