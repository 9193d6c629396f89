package fdrestore.app.bench;


import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** When bench --command times criu beside fdrestore, and what it says when it does not. */
@Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CommandBenchTest {
    @Test
    void criuIsTimedOnlyWithABinaryAndAWholeDump(@TempDir Path dir) throws Exception {
        Files.createFile(dir.resolve("pstree.img"));
        assertTrue(CommandBench.criuSkipped(null, dir).startsWith("criu not found"));
        assertTrue(CommandBench.criuSkipped(dir.resolve("no-criu"), dir).startsWith("criu not found at "));
        Path criu = Path.of("/bin/true"); // any executable: only its presence is checked here
        String partial = CommandBench.criuSkipped(criu, dir);
        assertTrue(partial.contains("not a whole criu dump (no mm-*.img)"), partial);
        Files.createFile(dir.resolve("mm-1.img"));
        assertNull(CommandBench.criuSkipped(criu, dir));
    }

    @Test
    void onPathFindsAnExecutableOrNothing() {
        assertTrue(Files.isExecutable(BenchCommand.onPath("sh")));
        assertNull(BenchCommand.onPath("no-such-program-fdrestore"));
    }
}
