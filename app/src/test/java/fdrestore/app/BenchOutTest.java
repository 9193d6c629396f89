package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench --generate SPEC --out DIR}: a generated set to time a whole restore command on. */
class BenchOutTest {
    @Test
    void writesASetThatRestoresAndVerifies(@TempDir Path tmp) {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Path out = tmp.resolve("set");
            CliRunner w = CliRunner.run("bench", "--generate", "6x12:shared=0.5:shape=tree", "--out", out.toString());
            assertEquals(0, w.code, w.toString());
            assertTrue(w.out.contains("fdrestore restore --root " + out.resolve("root")), w.out);
            assertTrue(Files.exists(out.resolve("images/pstree.img")), "the images are in DIR/images");
            List<Integer> started = new ArrayList<>();
            try {
                CliRunner.Restored r = CliRunner.restoreDetached(started, out.resolve("images"), out.resolve("root"));
                assertEquals(6, r.pids().size(), "every generated task restored");
            } finally {
                RestoredTasks.stop(started);
            }
        });
    }

    @Test
    void refusesAnExistingDirectoryAndAMissingSpec(@TempDir Path tmp) {
        CliRunner exists = CliRunner.run("bench", "--generate", "2x4", "--out", tmp.toString());
        assertEquals(Cli.EXIT_USAGE, exists.code, exists.toString());
        assertTrue(exists.err.contains("already exists"), exists.err);
        CliRunner noSpec = CliRunner.run("bench", "--out", tmp.resolve("x").toString());
        assertEquals(Cli.EXIT_USAGE, noSpec.code, noSpec.toString());
        assertTrue(noSpec.err.contains("--generate"), noSpec.err);
    }
}
