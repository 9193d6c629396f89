package fdrestore.app;

import fdrestore.core.image.ImageSet;
import fdrestore.core.json.Json;
import fdrestore.core.restore.Holder;
import fdrestore.core.restore.Restorer;
import fdrestore.transport.ScmTransport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code fdrestore bench}: restores an image set many times and reports each phase's median, min and
 * max, the engine's cost per fd slot, and the peak RSS. Run on demand; never part of the tests' timing.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Restores an image set repeatedly in this JVM (after warm-up runs) and reports, per phase,",
            "the median, min and max: load + validate, plan, tables, engine (tables complete), spawn, and the",
            "whole restore; the engine's cost per fd slot; and the peak RSS. Each run's processes are stopped",
            "before the next. With --generate it first writes a synthetic image set."},
        footer = {"%nExamples:",
            "  fdrestore bench --runs 15 --root images-samples/criu-4.2/big_32x64_shared_flat/root \\",
            "      images-samples/criu-4.2/big_32x64_shared_flat",
            "  fdrestore bench --generate 32x256:shared=0.5 --runs 10",
            "  fdrestore bench --generate 64x66:shape=chain --runs 10 --json"})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", arity = "0..1", description = "The image set (not with --generate).")
    Path dir;

    @Option(names = "--generate", paramLabel = "SPEC",
            description = "Write a synthetic set first: TASKSxFDS[:shared=R][:shape=flat|tree|chain] (shared=0.5, flat).")
    String generate;

    @Option(names = "--root", paramLabel = "DIR", description = "--root of the restores (a generated set has its own).")
    Path root;

    @Option(names = "--runs", defaultValue = "10", description = "Measured runs (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", description = "Runs before measuring, for the JIT (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--plugins", paramLabel = "DIR", description = "The plugins folder (default: the distribution's plugins/).")
    Path pluginsDir;

    @Option(names = "--json", description = "Print a JSON document instead.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Path tmp = null;
        try {
            if (generate != null) {
                SyntheticImages.Spec sp = SyntheticImages.Spec.parse(generate);
                tmp = Files.createTempDirectory("fdrestore-bench");
                dir = tmp.resolve("images");
                root = tmp.resolve("root");
                SyntheticImages.write(sp, dir, root);
            } else if (dir == null) {
                throw new Cli.UsageException("give an image set DIR or --generate SPEC");
            }
            Path r = (root != null ? root : Path.of("/")).toAbsolutePath().normalize();
            Map<String, List<Double>> phases = new LinkedHashMap<>();
            for (String p : List.of("load", "plan", "tables", "engine", "spawn", "restore")) {
                phases.put(p, new ArrayList<>());
            }
            int fds = 0;
            int tasks = 0;
            try (PluginHost host = PluginHost.load(pluginsDir != null ? pluginsDir : PluginHost.defaultDir())) {
                for (int i = 0; i < warmup + runs; i++) {
                    long t0 = System.nanoTime();
                    ImageSet images = ImageSet.open(dir);
                    long t1 = System.nanoTime();
                    Restorer.Result res = new Restorer(images, host.kinds(), ScmTransport::create,
                            new Restorer.Options(r, Map.of(), Holder.path(), true, 0)).run();
                    long t2 = System.nanoTime();
                    RestoreCommand.stop(new ArrayList<>(res.pidMap().values()));
                    if (i >= warmup) {
                        phases.get("load").add((t1 - t0) / 1e6);
                        phases.get("plan").add(res.planNs() / 1e6);
                        phases.get("tables").add(res.tablesNs() / 1e6);
                        phases.get("engine").add(res.engineNs() / 1e6);
                        phases.get("spawn").add(res.spawnNs() / 1e6);
                        phases.get("restore").add((t2 - t0) / 1e6);
                    }
                    fds = res.fds();
                    tasks = res.tasks().size();
                }
            }
            long hwmKb = peakRssKb();
            PrintWriter out = spec.commandLine().getOut();
            double engineMedian = median(phases.get("engine"));
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("images", generate != null ? generate : dir.toString());
                doc.put("tasks", tasks);
                doc.put("fds", fds);
                doc.put("runs", runs);
                Map<String, Object> ph = new LinkedHashMap<>();
                phases.forEach((k, v) -> ph.put(k, Map.of("medianMs", median(v), "minMs", min(v), "maxMs", max(v))));
                doc.put("phases", ph);
                doc.put("engineUsPerFd", fds == 0 ? 0 : engineMedian * 1000 / fds);
                doc.put("peakRssMiB", hwmKb / 1024.0);
                out.println(Json.pretty(doc));
            } else {
                out.printf("%s: %d tasks, %d fds, %d runs after %d warm-up%n", generate != null ? generate : dir, tasks,
                        fds, runs, warmup);
                out.printf("  %-8s %10s %10s %10s%n", "phase", "median ms", "min ms", "max ms");
                phases.forEach((k, v) -> out.printf("  %-8s %10.2f %10.2f %10.2f%n", k, median(v), min(v), max(v)));
                out.printf("  engine per fd slot: %.2f us; peak RSS %.1f MiB%n", fds == 0 ? 0 : engineMedian * 1000 / fds,
                        hwmKb / 1024.0);
            }
            out.flush();
            return Cli.EXIT_OK;
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) {
            return 0;
        }
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    }

    private static double max(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    /** VmHWM of this process, in KiB. */
    static long peakRssKb() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(x);
            }
        }
    }
}
