package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, concurrency: 20 restores of the same image set at once in one JVM, through the CLI in-process
 * (criu's #1720/#1735 were transport-name collisions between concurrent restores). All succeed and verify,
 * every restored process is stopped, nothing is left and the files under the shared --root are unchanged.
 * 20 processes of the distribution at once: HardeningDistributionIT.
 */
class HardeningConcurrencyTest {
    static final int N = 20;

    @Test
    @SuppressWarnings("unchecked")
    void twentyRestoresOfOneSetAtOnceAllSucceed(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("a_pipe");
        Path root = Samples.prepareRoot("a_pipe", Files.createDirectories(tmp.resolve("root")));
        CliRunner warm = CliRunner.run("restore", "--root", root.toString(), "--then=kill", images.toString());
        assertEquals(0, warm.code, warm.toString());
        Map<Integer, String> fds = HardeningSupport.jvmFds();
        Map<String, String> tree = HardeningSupport.tree(root);
        ExecutorService pool = Executors.newFixedThreadPool(N);
        List<CliRunner> results = new ArrayList<>();
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CliRunner>> fs = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    return CliRunner.run("restore", "--root", root.toString(), "--verify", "--json", "--then=kill",
                            images.toString());
                }));
            }
            go.countDown();
            assertTimeoutPreemptively(Duration.ofSeconds(240), () -> {
                for (Future<CliRunner> f : fs) {
                    results.add(f.get());
                }
            });
        } finally {
            pool.shutdownNow();
        }
        int ok = 0;
        List<String> bad = new ArrayList<>();
        for (CliRunner r : results) {
            if (r.code == 0 && Boolean.TRUE.equals(((Map<String, Object>) ((Map<String, Object>) Json.parse(r.out))
                    .get("verify")).get("ok"))) {
                ok++;
            } else {
                bad.add(r.toString());
            }
        }
        System.out.printf("HARDENING concurrency: %d of %d concurrent in-process restores succeeded and verified%n", ok, N);
        assertEquals(List.of(), bad);
        assertEquals(N, ok);
        assertEquals(List.of(), HardeningSupport.leftovers(fds, root, tree));
    }
}
