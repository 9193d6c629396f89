package fdrestore.api.image.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, fuzzing: a short seeded run of {@link ImageFuzz} in every build (≤ 60 s, reproducible: seed
 * {@code fdrestore.fuzz.seed}, default 9), and every saved crashing input of earlier runs replayed from
 * {@code src/test/resources/fuzz-regressions/}. {@code -Dfdrestore.fuzz.inputs=1000000} makes it the long run.
 */
class ImageFuzzTest {
    private static final long SEED = Long.getLong("fdrestore.fuzz.seed", 9);
    private static final long INPUTS = Long.getLong("fdrestore.fuzz.inputs", 40_000);
    /** The short run stops at this many seconds even when it has not reached INPUTS (a slow machine). */
    private static final long SECONDS = Long.getLong("fdrestore.fuzz.seconds", INPUTS > 100_000 ? 86_400 : 40);

    static Path samples() {
        String p = System.getProperty("fdrestore.samples");
        assertNotNull(p, "system property fdrestore.samples is not set (the build sets it)");
        return Paths.get(p);
    }

    @Test
    void seededRunFindsOnlyFormatErrors(@TempDir Path tmp) throws Exception {
        ImageFuzz fuzz = new ImageFuzz(samples(), tmp);
        ImageFuzz.Stats st = assertTimeoutPreemptively(Duration.ofSeconds(SECONDS + 30),
                () -> fuzz.run(SEED, INPUTS, SECONDS * 1000));
        System.out.println("IMAGE FUZZ seed " + SEED + " over " + fuzz.corpus() + ": " + st);
        List<String> found = new ArrayList<>();
        for (ImageFuzz.Finding f : st.findings()) {
            Path saved = ImageFuzz.save(f, Paths.get("target/fuzz-findings"));
            StringWriter w = new StringWriter();
            f.error().printStackTrace(new PrintWriter(w));
            found.add(f + " saved as " + saved + "\n" + w);
        }
        assertEquals(List.of(), found, "inputs that failed otherwise than with the format error");
        assertTrue(st.inputs() >= Math.min(INPUTS, 5_000), "too few inputs ran: " + st);
        assertTrue(st.formatErrors() > 0 && st.accepted() > 0, "the mutations reach both outcomes: " + st);
    }

    @Test
    void savedRegressionsNowFailOnlyWithTheFormatError(@TempDir Path tmp) throws Exception {
        Path dir = Paths.get("src/test/resources/fuzz-regressions");
        List<Path> saved;
        try (Stream<Path> s = Files.list(dir)) {
            saved = s.filter(p -> p.toString().endsWith(".bin")).sorted().toList();
        }
        List<String> failing = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (Path p : saved) {
                Throwable t = ImageFuzz.replay(p, samples(), tmp);
                if (t != null) {
                    failing.add(p.getFileName() + ": " + t);
                }
            }
        });
        assertEquals(List.of(), failing);
    }

    @Test
    void theHarnessCatchesWhatIsNotAFormatError() throws IOException {
        // a sanity check that the oracle can fail: an image named as one kind with no header at all is a
        // format error, and a thrown RuntimeException would be a finding
        assertNull(ImageFuzz.codec("pstree.img", new byte[] {1, 2, 3}));
        assertNull(ImageFuzz.codec("pstree.img", new byte[0]));
    }
}
