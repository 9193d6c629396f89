package fdrestore.api.image.codec;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The real criu 4.2 image sets under {@code -Dfdrestore.samples}. Missing samples fail, never skip. */
final class Samples {
    private Samples() {
    }

    static Path root() {
        String p = System.getProperty("fdrestore.samples");
        assertNotNull(p, "system property fdrestore.samples is not set (the build sets it)");
        Path root = Paths.get(p, "criu-4.2");
        assertTrue(Files.isDirectory(root), "no sample sets at " + root);
        return root;
    }

    static List<Path> sets() {
        try (Stream<Path> s = Files.list(root())) {
            List<Path> sets = s.filter(Files::isDirectory).sorted().collect(Collectors.toList());
            assertFalse(sets.isEmpty(), "no sample sets under " + root());
            return sets;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> images(Path set) {
        try (Stream<Path> s = Files.list(set)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".img")).sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> allImages() {
        List<Path> all = sets().stream().flatMap(s -> images(s).stream()).collect(Collectors.toList());
        assertFalse(all.isEmpty(), "no *.img files in the sample sets");
        return all;
    }

    static String rel(Path p) {
        return root().relativize(p).toString();
    }
}
