package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The samples written by {@code fdrestore dump} (images-samples/fdrestore) restore as checked in, and verify. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DumpSamplesTest {
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stop() {
        RestoredTasks.stop(started);
    }

    /**
     * A writable copy of a sample's {@code root/} with the modes its images record: git keeps only the
     * x bit, and a restore refuses a file whose mode changed (postgres's files are 0600).
     */
    static Path copy(Path src, Path dst) throws Exception {
        return Samples.prepareRoot(src.resolveSibling("images"), src, dst);
    }

    @ParameterizedTest
    @CsvSource({"service, 4, 24", "kinds, 2, 21", "postgres, 6, 39"})
    @SuppressWarnings("unchecked")
    void restoresAndVerifies(String name, int tasks, int fds, @TempDir Path tmp) throws Exception {
        Path sample = Samples.root().resolve("fdrestore").resolve(name);
        Path images = sample.resolve("images");
        assertEquals(List.of(), StrictCheck.checkDir(images), "strict CRIU check");
        ImageSet set = ImageSet.open(images);
        assertEquals(tasks, set.tasks().size());
        assertEquals(fds, set.tasks().stream().mapToInt(t -> t.fds().size()).sum());
        assertTrue(Files.isExecutable(sample.resolve("build.sh")) && Files.exists(sample.resolve("README.md")));

        Path root = copy(sample.resolve("root"), tmp.resolve("root"));
        CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--hold", "--verify", "--detach", "--json",
                images.toString());
        if (r.out.startsWith("{")) {
            Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
            for (Object o : (List<Object>) doc.get("tasks")) {
                started.add(((Number) ((Map<String, Object>) o).get("pid")).intValue());
            }
        }
        assertEquals(0, r.code, r.toString());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
        assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out);
        assertEquals(tasks, started.size());
    }
}
