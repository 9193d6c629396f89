package fdrestore.app.bench;

import fdrestore.app.Cli;
import fdrestore.app.cli.RestoredTasks;
import fdrestore.app.serve.ServerProcess;
import fdrestore.core.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code fdrestore bench --command}: the whole {@code bin/fdrestore restore --detach --json} command as a
 * user runs it, timed from its start to its exit, in a fresh JVM each time ("cold") and handed to a server
 * this bench starts ("served"), beside two floors, {@code java -version} (java on the PATH) and the
 * launcher's own JVM, archive and module path with {@code -version} ("jvm"), and, when a criu binary is
 * given and DIR is a whole criu dump, {@code criu restore -d} of the same directory. The modes alternate
 * run by run, so that a change in the machine's load touches them all alike. Each run's tasks are
 * stopped and reaped before the next.
 */
public final class CommandBench {
    private CommandBench() {
    }

    /** One mode's runs: wall time of the command, and the restore's own total (its JSON; NaN for others), in ms. */
    record Series(String mode, List<Double> wallMs, List<Double> restoreMs) {
    }

    /** How one mode runs: its command, its environment, and what to check and clean after each run. */
    private record Mode(String name, List<String> cmd, Map<String, String> env, Kind kind, ServerProcess server,
                        Series series) {
    }

    private enum Kind { FLOOR, FDRESTORE, CRIU }

    /** The distribution's launcher, which this bench runs. */
    static Path launcher() throws Cli.UsageException {
        String home = System.getProperty("fdrestore.home");
        Path bin = home == null ? null : Path.of(home, "bin", "fdrestore");
        if (bin == null || !Files.isExecutable(bin)) {
            throw new Cli.UsageException("--command times the distribution's bin/fdrestore: run it from the distribution"
                    + (bin == null ? "" : " (" + bin + " is missing)"));
        }
        return bin;
    }

    /**
     * Why criu is not timed on {@code dir} (null: it is): no binary, or the directory is not a whole dump
     * (criu restores memory too: the shipped samples leave mm-*.img and the pages out).
     */
    static String criuSkipped(Path criu, Path dir) throws IOException {
        if (criu == null) {
            return "criu not found (give --criu PATH)";
        }
        if (!Files.isExecutable(criu)) {
            return "criu not found at " + criu;
        }
        try (Stream<Path> files = Files.list(dir)) {
            if (files.noneMatch(f -> f.getFileName().toString().startsWith("mm-"))) {
                return dir + " is not a whole criu dump (no mm-*.img), criu cannot restore it";
            }
        }
        return null;
    }

    /**
     * Runs every mode {@code warmup + runs} times, alternated; returns the series in the order java,
     * jvm, cold, served, then criu when {@code criu} is not null (see {@link #criuSkipped}).
     */
    static List<Series> run(Path dir, Path root, int runs, int warmup, Path criu) throws Exception {
        Path bin = launcher();
        List<String> restore = List.of(bin.toString(), "restore", "--root", root.toString(), "--detach", "--json",
                dir.toAbsolutePath().toString());
        Path tmp = Files.createTempDirectory("fdrestore-bench-serve");
        try (ServerProcess server = ServerProcess.start(bin, tmp.resolve("s.sock"), 120)) {
            List<Mode> modes = new ArrayList<>();
            modes.add(mode("java", List.of("java", "-version"), Map.of(), Kind.FLOOR, null));
            modes.add(mode("jvm", List.of(bin.toString(), "--version"), Map.of("FDRESTORE_SERVER", "off",
                    "FDRESTORE_JAVA_OPTS", "-version"), Kind.FLOOR, null));
            modes.add(mode("cold", restore, Map.of("FDRESTORE_SERVER", "off"), Kind.FDRESTORE, null));
            modes.add(mode("served", restore, Map.of("FDRESTORE_SOCKET", server.socket().toString()), Kind.FDRESTORE, server));
            if (criu != null) {
                modes.add(mode("criu", List.of(criu.toString(), "restore", "-d", "-D", dir.toAbsolutePath().toString(),
                        "--shell-job", "--pidfile", tmp.resolve("criu.pid").toString()), Map.of(), Kind.CRIU, null));
            }
            for (int i = 0; i < warmup + runs; i++) {
                for (Mode m : modes) {
                    once(m, i, i >= warmup, tmp.resolve("criu.pid"));
                }
            }
            return modes.stream().map(Mode::series).toList();
        } finally {
            Files.deleteIfExists(tmp.resolve("s.sock"));
            Files.deleteIfExists(tmp.resolve("criu.pid"));
            Files.deleteIfExists(tmp);
        }
    }

    private static Mode mode(String name, List<String> cmd, Map<String, String> env, Kind kind, ServerProcess server) {
        return new Mode(name, cmd, env, kind, server, new Series(name, new ArrayList<>(), new ArrayList<>()));
    }

    @SuppressWarnings("unchecked")
    private static void once(Mode m, int i, boolean measured, Path criuPid) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(m.cmd()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.PIPE);
        pb.environment().remove("FDRESTORE_SERVER");
        pb.environment().remove("FDRESTORE_JAVA_OPTS");
        pb.environment().putAll(m.env());
        Files.deleteIfExists(criuPid);
        int servedBefore = m.server() == null ? 0 : m.server().served();
        long t0 = System.nanoTime();
        Process p = pb.start();
        byte[] stdout = p.getInputStream().readAllBytes();
        byte[] stderr = p.getErrorStream().readAllBytes();
        p.waitFor();
        long t1 = System.nanoTime();
        List<Integer> pids = new ArrayList<>();
        Map<String, Object> doc = null;
        try {
            if (m.kind() == Kind.FDRESTORE) {
                doc = (Map<String, Object>) Json.parse(new String(stdout, StandardCharsets.UTF_8));
                for (Object t : (List<Object>) doc.get("tasks")) {
                    pids.add(((Number) ((Map<String, Object>) t).get("pid")).intValue());
                }
            } else if (m.kind() == Kind.CRIU && Files.exists(criuPid)) {
                int top = Integer.parseInt(Files.readString(criuPid).strip());
                pids.add(top);
                ProcessHandle.of(top).ifPresent(h -> h.descendants().forEach(d -> pids.add((int) d.pid())));
            }
        } catch (RuntimeException notJson) {
            // reported below
        } finally {
            RestoredTasks.stop(pids);
            gone(pids);
        }
        if (p.exitValue() != 0 || (m.kind() == Kind.FDRESTORE && doc == null)) {
            throw new IOException(m.name() + " run " + (i + 1) + ": " + String.join(" ", m.cmd()) + " exited " + p.exitValue()
                    + ": " + new String(stderr, StandardCharsets.UTF_8).strip());
        }
        if (m.server() != null && !m.server().awaitServed(servedBefore, TimeUnit.SECONDS.toNanos(5))) {
            // the log line comes just after the answer
            throw new IOException(m.name() + " run " + (i + 1) + " was not served:\n" + m.server().log());
        }
        if (measured) {
            m.series().wallMs().add((t1 - t0) / 1e6);
            m.series().restoreMs().add(doc == null ? Double.NaN
                    : ((Number) ((Map<String, Object>) doc.get("timings")).get("totalMs")).doubleValue());
        }
    }

    /**
     * Waits (up to 10 s) until the stopped tasks are reaped, by init or by the server, so that the next run
     * does not share the cores with the kernel's tear-down of this one's processes (and criu finds its
     * pids free again).
     */
    private static void gone(List<Integer> pids) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int pid : pids) {
            while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
    }
}
