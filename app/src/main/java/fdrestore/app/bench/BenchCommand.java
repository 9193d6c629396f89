package fdrestore.app.bench;

import fdrestore.api.image.ImageSet;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
import fdrestore.app.cli.RestoredTasks;
import fdrestore.core.json.Json;
import fdrestore.core.process.Holder;
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
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fdrestore bench}: restores an image set many times and reports each phase's median, min and
 * max, the engine's cost per fd slot, and the peak RSS. Run on demand; never part of the tests' timing.
 *
 * <p>{@code bench --floor} instead compares fdrestore's fd transport with its syscall floor: it compiles
 * {@code share/bench/fdrestore-floor.c} with {@code gcc -O2} into a temporary directory, runs it, runs the
 * same work through fdrestore's task tables and transport ({@link FloorBench}), and reports both per fd and
 * their ratio.
 */
@Command(name = "bench", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Restores an image set repeatedly in this JVM (after warm-up runs) and reports, per phase,",
            "the median, min and max: load + validate, plan, tables, engine (tables complete), spawn, and the",
            "whole restore; the engine's cost per fd slot; and the peak RSS. Each run's processes are stopped",
            "before the next. With --generate it first writes a synthetic image set.",
            "%nWith --floor it measures the fd transport against its syscall floor instead:",
            "a C program (share/bench/fdrestore-floor.c, built with gcc -O2 at bench time)",
            "moves --fds fds of /dev/null between two private fd tables (open, sendmsg and",
            "recvmsg by SCM_RIGHTS, dup3 to the target, close); then fdrestore does the same",
            "through its task tables and ScmTransport. Both report ns per fd for the whole",
            "round and for the transport alone (time inside send + receive), and the ratio.",
            "%nWith --command it times the whole command instead, as a user runs it: the",
            "distribution's bin/fdrestore restore --detach --json, from its start to its exit, in",
            "a fresh JVM each run (cold), and served by an fdrestore serve this bench starts",
            "(served), alternated run by run with java -version and the launcher's JVM alone",
            "(the floors), and with criu restore -d of the same DIR when criu is there (--criu)",
            "and DIR is a whole criu dump. Each run's tasks are stopped before the next."},
        footer = {"%nExamples:",
            "  fdrestore bench --runs 15 \\",
            "      --root images-samples/criu-4.2/big_32x64_shared_flat/root \\",
            "      images-samples/criu-4.2/big_32x64_shared_flat",
            "  fdrestore bench --generate 32x256:shared=0.5 --runs 10",
            "  fdrestore bench --generate 64x66:shape=chain --runs 10 --json",
            "  fdrestore bench --generate 1000x100 --out /tmp/set",
            "      (then time: fdrestore restore --root /tmp/set/root --then=kill \\",
            "      /tmp/set/images)",
            "  fdrestore bench --floor --fds 100000 --runs 7",
            "  fdrestore bench --command --runs 9 \\",
            "      --root images-samples/criu-4.2/big_32x64_shared_flat/root \\",
            "      images-samples/criu-4.2/big_32x64_shared_flat",
            "%n--floor needs gcc on the PATH. When the targets 1000..1000+N do not fit under",
            "RLIMIT_NOFILE's hard limit, a round runs in passes of as many whole 253-fd",
            "messages as fit (a pass's targets are closed with the clock stopped); the",
            "report says so."})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", arity = "0..1", description = "The image set (not with --generate).")
    Path dir;

    @Option(names = "--generate", paramLabel = "SPEC",
            description = "Write a synthetic set first: TASKSxFDS[:shared=R][:shape=flat|tree|chain] (shared=0.5, flat).")
    String generate;

    @Option(names = "--out", paramLabel = "DIR", description = "With --generate: write the set to DIR/images and its files"
            + " to DIR/root, and stop (to time a whole restore command on it). DIR must not exist yet.")
    Path out;

    @Option(names = "--root", paramLabel = "DIR", description = "--root of the restores (a generated set has its own).")
    Path root;

    @Option(names = "--runs", defaultValue = "10", description = "Measured runs (rounds with --floor; default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", defaultValue = "3", description = "Runs (rounds) before measuring, for the JIT (default ${DEFAULT-VALUE}).")
    int warmup;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Option(names = "--json", description = "Print a JSON document instead.")
    boolean json;

    @Option(names = "--floor", description = "Measure the fd transport against its C syscall floor instead of a restore"
            + " (needs gcc).")
    boolean floor;

    @Option(names = "--fds", paramLabel = "N", defaultValue = "100000",
            description = "With --floor: fds moved per round (default ${DEFAULT-VALUE}).")
    int floorFds;

    @Option(names = "--command", description = "Time the whole restore command (cold JVM, served, the JVM floors and"
            + " criu, alternated) instead of restores inside this JVM.")
    boolean command;

    @Option(names = "--criu", paramLabel = "PATH", description = "With --command: the criu binary to time"
            + " (criu restore -d -D DIR --shell-job) beside fdrestore, when DIR is a whole criu dump. Default: criu on"
            + " the PATH, if any.")
    Path criu;

    @Override
    public Integer call() throws Exception {
        if (floor) {
            return floorBench();
        }
        if (command) {
            return commandBench();
        }
        if (out != null) {
            return writeOnly();
        }
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
            try (PluginHost host = PluginHost.load(pluginFolders.dirs())) {
                for (int i = 0; i < warmup + runs; i++) {
                    long t0 = System.nanoTime();
                    ImageSet images = ImageSet.open(dir);
                    long t1 = System.nanoTime();
                    Restorer.Result res = new Restorer(images, host.kinds(), ScmTransport::create,
                            new Restorer.Options(r, Map.of(), Holder.path(), true, 0)).run();
                    long t2 = System.nanoTime();
                    RestoredTasks.stop(new ArrayList<>(res.pidMap().values()));
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
                Map<String, Object> doc = Cli.document("bench");
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

    /** --command: the whole command, cold and served, on DIR or a generated set. */
    private int commandBench() throws Exception {
        if (out != null || runs < 1 || warmup < 0) {
            throw new Cli.UsageException("--command needs --runs >= 1 and --warmup >= 0, and no --out");
        }
        Path tmp = null;
        try {
            if (generate != null) {
                tmp = Files.createTempDirectory("fdrestore-bench");
                dir = tmp.resolve("images");
                root = tmp.resolve("root");
                SyntheticImages.write(SyntheticImages.Spec.parse(generate), dir, root);
            } else if (dir == null) {
                throw new Cli.UsageException("give an image set DIR or --generate SPEC");
            }
            Path r = (root != null ? root : Path.of("/")).toAbsolutePath().normalize();
            Path criuBin = criu != null ? criu : onPath("criu");
            String criuSkipped = CommandBench.criuSkipped(criuBin, dir);
            List<CommandBench.Series> all = CommandBench.run(dir, r, runs, warmup, criuSkipped == null ? criuBin : null);
            double floor = median(all.get(0).wallMs());
            double criuMs = criuSkipped == null ? median(all.get(all.size() - 1).wallMs()) : Double.NaN;
            PrintWriter w = spec.commandLine().getOut();
            if (json) {
                List<Object> modes = new ArrayList<>();
                for (CommandBench.Series s : all) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("mode", s.mode());
                    m.put("wallMs", stats(median(s.wallMs()), min(s.wallMs()), max(s.wallMs())));
                    if (!s.restoreMs().isEmpty() && !Double.isNaN(s.restoreMs().get(0))) {
                        m.put("restoreMs", stats(median(s.restoreMs()), min(s.restoreMs()), max(s.restoreMs())));
                    }
                    m.put("xJavaVersion", median(s.wallMs()) / floor);
                    if (!Double.isNaN(criuMs)) {
                        m.put("xCriu", median(s.wallMs()) / criuMs);
                    }
                    modes.add(m);
                }
                Map<String, Object> doc = Cli.document("bench");
                doc.put("images", generate != null ? generate : dir.toString());
                doc.put("runs", runs);
                doc.put("modes", modes);
                if (criuSkipped != null) {
                    doc.put("criu", criuSkipped);
                }
                w.println(Json.pretty(doc));
            } else {
                w.printf("%s: the whole restore --detach command, %d runs after %d warm-up, modes alternated%n",
                        generate != null ? generate : dir, runs, warmup);
                w.printf("  %-8s %14s %10s %10s %18s %9s %7s%n", "mode", "wall median ms", "min ms", "max ms",
                        "restore median ms", "x java", "x criu");
                for (CommandBench.Series s : all) {
                    double med = median(s.wallMs());
                    w.printf("  %-8s %14.1f %10.1f %10.1f %18s %9.2f %7s%n", s.mode(), med, min(s.wallMs()), max(s.wallMs()),
                            Double.isNaN(s.restoreMs().get(0)) ? "-" : String.format("%.1f", median(s.restoreMs())),
                            med / floor, Double.isNaN(criuMs) ? "-" : String.format("%.2f", med / criuMs));
                }
                w.println("  (wall: from the command's start to its exit; restore: the command's own timing, in its JSON;");
                w.println("  java: java -version; jvm: bin/fdrestore's JVM, archive and module path with -version)");
                if (criuSkipped != null) {
                    w.println("  criu: not run: " + criuSkipped);
                }
            }
            w.flush();
            return Cli.EXIT_OK;
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    /** {@code name} in a directory of the PATH, executable; null if none. */
    static Path onPath(String name) {
        String path = System.getenv("PATH");
        for (String d : path == null ? new String[0] : path.split(":")) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** --generate SPEC --out DIR: writes the set and says how to restore it. */
    private int writeOnly() throws Exception {
        if (generate == null || dir != null || floor) {
            throw new Cli.UsageException("--out writes a generated set: give --generate SPEC and no DIR or --floor");
        }
        if (Files.exists(out)) {
            throw new Cli.UsageException("--out " + out + ": already exists");
        }
        SyntheticImages.Spec sp = SyntheticImages.Spec.parse(generate);
        Path images = out.resolve("images");
        Path files = out.resolve("root");
        Files.createDirectories(images);
        Files.createDirectories(files);
        SyntheticImages.write(sp, images, files);
        PrintWriter w = spec.commandLine().getOut();
        w.printf("%s written to %s; restore it with:%n  fdrestore restore --root %s --then=kill %s%n", sp, out, files,
                images);
        w.flush();
        return Cli.EXIT_OK;
    }

    // ---- --floor ----------------------------------------------------------------------------------

    private int floorBench() throws Exception {
        if (dir != null || generate != null) {
            throw new Cli.UsageException("--floor measures the transport alone: give no image set and no --generate");
        }
        if (floorFds < 1 || runs < 1 || warmup < 0) {
            throw new Cli.UsageException("--floor needs --fds >= 1, --runs >= 1 and --warmup >= 0");
        }
        int window = FloorBench.window(floorFds);
        Path tmp = Files.createTempDirectory("fdrestore-floor");
        Map<String, String> c;
        List<String> cRounds;
        try {
            Path exe = CFloor.compileFloor(CFloor.floorSource(), tmp);
            List<String> lines = CFloor.runFloor(exe, floorFds, runs, window);
            cRounds = lines.subList(0, lines.size() - 1);
            c = CFloor.parseFloorLine(lines.get(lines.size() - 1));
        } finally {
            deleteTree(tmp);
        }
        FloorBench.Result j = FloorBench.run(floorFds, runs, warmup, window);
        double cMedian = Double.parseDouble(c.get("median_ns_per_fd"));
        double cTransport = Double.parseDouble(c.get("transport_median_ns_per_fd"));
        double ratio = j.median() / cMedian;
        double tRatio = j.transportMedian() / cTransport;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> doc = Cli.document("bench");
            doc.put("floor", true);
            doc.put("fds", floorFds);
            doc.put("runs", runs);
            doc.put("warmup", warmup);
            doc.put("window", window);
            doc.put("passes", j.passes());
            Map<String, Object> cd = new LinkedHashMap<>();
            cd.put("nsPerFd", stats(cMedian, c.get("min_ns_per_fd"), c.get("max_ns_per_fd")));
            cd.put("transportNsPerFd", stats(cTransport, c.get("transport_min_ns_per_fd"), c.get("transport_max_ns_per_fd")));
            cd.put("eagain", Long.parseLong(c.get("eagain")));
            doc.put("c", cd);
            Map<String, Object> jd = new LinkedHashMap<>();
            jd.put("nsPerFd", stats(j.median(), j.min(), j.max()));
            jd.put("transportNsPerFd", stats(j.transportMedian(), j.transportMin(), j.transportMax()));
            jd.put("eagain", j.eagain());
            doc.put("fdrestore", jd);
            doc.put("ratio", ratio);
            doc.put("transportRatio", tRatio);
            out.println(Json.pretty(doc));
        } else {
            out.printf("floor: %d fds a round, %d rounds (fdrestore after %d warm-up rounds, C after 1)%s%n", floorFds, runs,
                    warmup, j.passes() == 1 ? "" : String.format(", in %d passes of up to %d fds (RLIMIT_NOFILE)",
                            j.passes(), window));
            for (String l : cRounds) {
                out.println("  C " + l);
            }
            out.printf("  %-26s %12s %12s %8s%n", "ns per fd", "C floor", "fdrestore", "ratio");
            row(out, "round (median)", cMedian, j.median());
            row(out, "round (min)", Double.parseDouble(c.get("min_ns_per_fd")), j.min());
            row(out, "round (max)", Double.parseDouble(c.get("max_ns_per_fd")), j.max());
            row(out, "transport (median)", cTransport, j.transportMedian());
            row(out, "transport (min)", Double.parseDouble(c.get("transport_min_ns_per_fd")), j.transportMin());
            row(out, "transport (max)", Double.parseDouble(c.get("transport_max_ns_per_fd")), j.transportMax());
            out.printf("  ratio fdrestore / C floor: %.2fx per fd (round, median), %.2fx (transport only); target <= 2x%n",
                    ratio, tRatio);
            out.printf("  (round: first open to last dup3/placement; transport: time inside sendmsg + recvmsg in C,"
                    + " inside ScmTransport send + receive in fdrestore, both threads summed; full queue: %s EAGAIN in C,"
                    + " %d in fdrestore)%n", c.get("eagain"), j.eagain());
        }
        out.flush();
        return Cli.EXIT_OK;
    }

    private static Map<String, Object> stats(double median, String min, String max) {
        return stats(median, Double.parseDouble(min), Double.parseDouble(max));
    }

    private static Map<String, Object> stats(double median, double min, double max) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("median", median);
        m.put("min", min);
        m.put("max", max);
        return m;
    }

    private static void row(PrintWriter out, String what, double c, double j) {
        out.printf("  %-26s %12.1f %12.1f %7.2fx%n", what, c, j, j / c);
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) {
            return 0;
        }
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    }

    static double max(List<Double> v) {
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

    /** Deletes {@code p} and everything under it (a temporary set of this JVM's own). */
    public static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(x);
            }
        }
    }
}
