package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start, as a new user runs it: a fresh `git clone` of this repository (its committed
 * HEAD) into a temporary directory, then the quick-start restore command exactly as README.md writes it,
 * run by sh in the clone. The launcher builds the distribution there first (Maven offline, through
 * FDRESTORE_MVN_OPTS=-o, since tests must not need the network), so this takes a minute or two.
 * Skip it with -Dfdrestore.quickstart.skip=true.
 */
@DisabledIfSystemProperty(named = "fdrestore.quickstart.skip", matches = "true",
        disabledReason = "-Dfdrestore.quickstart.skip=true")
@EnabledIf(value = "isGitCheckout", disabledReason = "the project is not a git checkout: nothing to clone")
class QuickStartIT {
    static Path project() {
        return Path.of(System.getProperty("fdrestore.samples", "../images-samples")).toAbsolutePath().normalize().getParent();
    }

    static boolean isGitCheckout() {
        return Files.exists(project().resolve(".git")) && onPath("git");
    }

    private static boolean onPath(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, exe))) {
                return true;
            }
        }
        return false;
    }

    /** The `./fdrestore restore ...` line of the README's quick-start block. */
    static String quickStartCommand(String readme) {
        int qs = readme.indexOf("## Quick start");
        assertTrue(qs >= 0, "README.md has a Quick start section");
        int open = readme.indexOf("```", qs);
        int close = readme.indexOf("```", open + 3);
        List<String> lines = readme.substring(readme.indexOf('\n', open) + 1, close).lines().toList();
        return lines.stream().filter(l -> l.startsWith("./fdrestore restore ")).findFirst()
                .orElseThrow(() -> new AssertionError("no ./fdrestore restore line in the quick start: " + lines));
    }

    record Run(int code, String out, long ms) {
    }

    static Run sh(Path dir, String command, long timeoutS) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("FDRESTORE_MVN_OPTS", "-o");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1_000_000);
    }

    @Test
    void theReadmeQuickStartWorksOnAFreshClone(@TempDir Path tmp) {
        assertTimeoutPreemptively(Duration.ofMinutes(10), () -> {
            Path clone = tmp.resolve("fdrestore");
            Run c = sh(tmp, "git clone --quiet \"" + project() + "\" fdrestore", 120);
            assertEquals(0, c.code, c.out);
            String command = quickStartCommand(Files.readString(clone.resolve("README.md")));
            Run r = sh(clone, command, 540);
            assertEquals(0, r.code, command + "\n" + r.out + tail(clone.resolve(".fdrestore-build.log")));
            assertTrue(r.out.contains("Restored 4 tasks"), r.out);
            assertTrue(r.out.contains("Verified: the "), r.out);
            assertTrue(r.out.contains("Stopped the restored tree"), r.out);
            System.out.printf("QuickStartIT: fresh clone %.1f s + first restore (build included) %.1f s = %.1f s%n",
                    c.ms / 1e3, r.ms / 1e3, (c.ms + r.ms) / 1e3);
            Run again = sh(clone, command, 120);
            assertEquals(0, again.code, again.out);
            assertTrue(!again.out.contains("building the distribution"), "a second run does not build: " + again.out);
            System.out.printf("QuickStartIT: second restore %.1f s%n", again.ms / 1e3);
        });
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        List<String> l = Files.readAllLines(log);
        return "\n--- build log tail\n" + String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
    }

    @Test
    void theCommandIsParsedFromTheReadme() throws IOException {
        String readme = Files.readString(project().resolve("README.md"));
        assertEquals("./fdrestore restore --root images-samples/criu-4.2/a_pipe/root --verify --then=kill "
                + "images-samples/criu-4.2/a_pipe", quickStartCommand(readme));
        assertTrue(readme.contains("\nmvn -B verify\n"), "the second quick-start command stays as it is");
    }
}
