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
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, concurrency: 20 restores of the same image set at once in one JVM, through the CLI in-process
 * (criu's #1720/#1735 were transport-name collisions between concurrent restores). All succeed and verify,
 * every restored process is stopped, nothing is left and the files under the shared --root are unchanged.
 * 20 processes of the distribution at once: HardeningDistributionIT.
 */
class HardeningConcurrencyTest {
    static final int N = 20;

    /**
     * Who holds it: a pid, or the holder was gone by the time the error was worded (a winner restored with
     * --then=kill can end first, and the losers read /proc after their bind failed).
     */
    static final String HOLDER = "(, held by pids? \\d+| by a socket outside this restore)";
    static final String GONE = " and no process holding 0 was found";

    /**
     * The shipped samples (the 12 criu scenario sets and fdrestore's own dumps), each with what two of its
     * restores may both claim: the one failure allowed is a line naming that, and who holds it.
     */
    static final Map<String, Pattern> SAMPLES = new TreeMap<>(Map.ofEntries(
            Map.entry("criu-4.2/a_pipe", nothingShared()),
            Map.entry("criu-4.2/b_fifo", nothingShared()),
            Map.entry("criu-4.2/c2_listenq", nothingShared()), // its socket file is under each restore's own root
            Map.entry("criu-4.2/f_timerfd", nothingShared()),
            Map.entry("criu-4.2/g_regfile", nothingShared()),
            Map.entry("criu-4.2/h_tcp", Pattern.compile("cannot (bind|listen on) (127\\.0\\.0\\.1:40123|\\[::1\\]:40124): the address "
                    + "is already in use \\(EADDRINUSE\\)" + HOLDER)),
            Map.entry("criu-4.2/big_32x2_shared_flat", nothingShared()),
            Map.entry("criu-4.2/big_32x64_shared_flat", nothingShared()),
            Map.entry("criu-4.2/v_unix", Pattern.compile("cannot bind to @\\S+: its address is already in use(, held by pids? \\d+|$)",
                    Pattern.MULTILINE)),
            Map.entry("criu-4.2/v_pty", Pattern.compile("pty index 0 is taken on this host: /dev/ptmx gave index \\d+ \\(the "
                    + "lowest free one\\)(; held by |" + GONE + ")")),
            Map.entry("criu-4.2/v_epoll", nothingShared()),
            Map.entry("criu-4.2/v_ghost", nothingShared()),
            Map.entry("fdrestore/service/images", nothingShared()),
            Map.entry("fdrestore/kinds/images", Pattern.compile("cannot (bind|listen on) 127\\.0\\.0\\.1:\\d+: the address is already in "
                    + "use \\(EADDRINUSE\\)" + HOLDER))));

    private static Pattern nothingShared() {
        return Pattern.compile("(?!)"); // matches nothing: every restore must succeed
    }

    /**
     * Issue 22: 20 restores of each shipped sample at once, in one JVM through the CLI, each into its own
     * copy of the sample's root with its own run directory. Each either restores and verifies, or fails with
     * one line naming what another of them holds (a TCP port, an abstract unix name) and its pid; nothing
     * is left: no process, no executor thread, no fd of the JVM, no journal, no cgroup, no file under a root
     * (the socket files a successful restore binds, as the dumped tree had them, aside).
     */
    @Test
    @Timeout(value = 600, unit = java.util.concurrent.TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    @SuppressWarnings("unchecked")
    void twentyRestoresOfEachSampleAtOnceSucceedOrNameWhatIsTaken(@TempDir Path tmp) throws Exception {
        Map<Integer, String> fds = null;
        Path eventfd = null; // the plugins folder with the eventfd jar, for v_epoll and kinds
        List<String> problems = new ArrayList<>();
        List<String> figures = new ArrayList<>();
        long start = System.nanoTime();
        String only = System.getProperty("fdrestore.concurrency.samples", ""); // e.g. h_tcp,v_pty: to rerun a few
        for (Map.Entry<String, Pattern> e : SAMPLES.entrySet()) {
            String sample = e.getKey();
            if (!only.isEmpty() && java.util.Arrays.stream(only.split(",")).noneMatch(sample::contains)) {
                continue;
            }
            Path images = Samples.root().resolve(sample);
            if (eventfd == null && (sample.endsWith("v_epoll") || sample.contains("kinds"))) {
                eventfd = HardeningFaultSweepTest.pluginsFor("v_epoll", tmp);
            }
            Path plugins = sample.endsWith("v_epoll") || sample.contains("kinds") ? eventfd : null;
            String name = sample.replace('/', '_');
            List<Path> roots = new ArrayList<>();
            List<Map<String, String>> pristine = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                Path into = Files.createDirectories(tmp.resolve(name + "-" + i));
                Path root = Files.isDirectory(images.resolve("root")) ? Samples.prepareRoot(images, into)
                        : DumpSamplesTest.copy(images.resolveSibling("root"), into.resolve("root")); // fdrestore's own
                roots.add(root);
                pristine.add(HardeningSupport.tree(root));
            }
            Path runDir = Files.createDirectories(tmp.resolve(name + "-run"));
            if (fds == null) { // after a first restore: the JVM's lazily opened jars and the like are open by then
                CliRunner warm = CliRunner.run(args(roots.get(0), plugins, runDir, images));
                assertEquals(0, warm.code, warm.toString());
                HardeningSupport.removeNewSockets(roots.get(0), pristine.get(0));
                fds = HardeningSupport.jvmFds();
            }
            ExecutorService pool = Executors.newFixedThreadPool(N);
            List<CliRunner> results = new ArrayList<>();
            long t0 = System.nanoTime();
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<CliRunner>> fs = new ArrayList<>();
                for (int i = 0; i < N; i++) {
                    String[] a = args(roots.get(i), plugins, runDir, images);
                    fs.add(pool.submit(() -> {
                        go.await();
                        return CliRunner.run(a);
                    }));
                }
                go.countDown();
                for (Future<CliRunner> f : fs) {
                    results.add(f.get());
                }
            } finally {
                pool.shutdownNow();
            }
            int ok = 0;
            int taken = 0;
            int named = 0;
            for (int i = 0; i < N; i++) {
                CliRunner r = results.get(i);
                if (r.code == 0 && Boolean.TRUE.equals(((Map<String, Object>) ((Map<String, Object>) Json.parse(r.out))
                        .get("verify")).get("ok"))) {
                    ok++;
                    HardeningSupport.removeNewSockets(roots.get(i), pristine.get(i));
                } else if (r.code == 1 && e.getValue().matcher(r.err).find() && r.err.strip().lines().count() == 1
                        && !r.err.contains("\tat ")) {
                    taken++;
                    named += r.err.contains("held by") ? 1 : 0;
                } else {
                    problems.add(sample + " #" + i + ": " + r);
                    System.out.println("HARDENING concurrency: " + problems.get(problems.size() - 1));
                }
                if (!HardeningSupport.tree(roots.get(i)).equals(pristine.get(i))) {
                    problems.add(sample + " #" + i + ": files under its root changed");
                }
            }
            try (Stream<Path> left = Files.list(runDir)) {
                left.forEach(p -> problems.add(sample + ": left in the run directory: " + p));
            }
            figures.add(String.format("%s %d ok + %d taken (%d naming the holder's pid) in %.1f s", sample, ok, taken,
                    named, (System.nanoTime() - t0) / 1e9));
            System.out.println("HARDENING concurrency: " + figures.get(figures.size() - 1));
            if (ok == 0) {
                problems.add(sample + ": none of the " + N + " restores succeeded");
            }
        }
        problems.addAll(HardeningSupport.leftovers(fds, null, null));
        fdrestore.core.restore.TreeCgroup.sweep();
        Path cg = fdrestore.core.restore.TreeCgroup.ownCgroup();
        if (cg != null && Files.isDirectory(cg)) {
            String mine = "fdrestore-" + ProcessHandle.current().pid() + "-";
            try (Stream<Path> s = Files.list(cg)) {
                s.filter(p -> p.getFileName().toString().startsWith(mine)).forEach(p -> problems.add("cgroup left: " + p));
            }
        }
        System.out.printf("HARDENING concurrency: %d samples x %d restores at once in %.1f s: %s%n", SAMPLES.size(), N,
                (System.nanoTime() - start) / 1e9, String.join("; ", figures));
        assertEquals(List.of(), problems);
    }

    private static String[] args(Path root, Path plugins, Path runDir, Path images) {
        List<String> a = new ArrayList<>(List.of("restore", "--root", root.toString(), "--run-dir", runDir.toString(),
                "--verify", "--json", "--then=kill"));
        if (plugins != null) {
            a.add("--plugins");
            a.add(plugins.toString());
        }
        a.add(images.toString());
        return a.toArray(String[]::new);
    }

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
