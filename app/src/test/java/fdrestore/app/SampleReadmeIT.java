package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every scenario sample restores out of the box with the command images-samples/criu-4.2/README.md shows
 * (b_fifo too, whose fifo node git cannot keep): the README's block, for each sample, run by sh in the
 * checkout with the packaged distribution in place of the ./fdrestore wrapper (which would rebuild).
 */
class SampleReadmeIT {
    /** The shell block of the README's "Restore one" section. */
    static String restoreOneBlock(String readme) {
        int at = readme.indexOf("## Restore one");
        assertTrue(at >= 0, "images-samples/criu-4.2/README.md has a 'Restore one' section");
        int open = readme.indexOf("```sh\n", at);
        int close = readme.indexOf("```", open + 6);
        return readme.substring(open + 6, close);
    }

    @Test
    void everySampleRestoresVerifiedWithTheReadmeCommand() {
        assertTimeoutPreemptively(Duration.ofMinutes(10), () -> {
            Path project = QuickStartIT.project();
            Path samples = project.resolve("images-samples/criu-4.2");
            String block = restoreOneBlock(Files.readString(samples.resolve("README.md")));
            assertTrue(block.contains("b_fifo") && block.contains("./fdrestore restore"), block);
            String bin = Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore").toString();
            List<String> names = new ArrayList<>();
            try (Stream<Path> s = Files.list(samples)) {
                s.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted()
                        .forEach(p -> names.add(p.getFileName().toString()));
            }
            assertEquals(12, names.size(), "the 12 scenario samples: " + names);
            List<String> failed = new ArrayList<>();
            for (String name : names) {
                String command = "FDRESTORE_SERVER=off " + block.replace("b_fifo", name).replace("./fdrestore", bin);
                QuickStartIT.Run r = QuickStartIT.sh(project, command, 120);
                if (r.code() != 0 || !r.out().contains("Verified:")) {
                    failed.add(name + ": exit " + r.code() + "\n" + r.out());
                }
            }
            assertEquals(List.of(), failed, "samples that do not restore with the README's command");
        });
    }
}
