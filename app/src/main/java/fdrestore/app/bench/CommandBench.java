package fdrestore.app.bench;

import fdrestore.app.Cli;
import fdrestore.app.cli.RestoreCommand;
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

/**
 * {@code fdrestore bench --command}: the whole {@code bin/fdrestore restore --detach --json} command as a
 * user runs it, timed from its start to its exit, in a fresh JVM each time ("cold") and then handed to a
 * server this bench starts ("served"). Each run's tasks are stopped before the next.
 */
public final class CommandBench {
    private CommandBench() {
    }

    /** One mode's runs: wall time of the command, and the restore's own total (its JSON), in ms. */
    record Series(String mode, List<Double> wallMs, List<Double> restoreMs) {
    }

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

    static List<Series> run(Path dir, Path root, int runs, int warmup) throws Exception {
        Path bin = launcher();
        List<String> restore = List.of(bin.toString(), "restore", "--root", root.toString(), "--detach", "--json",
                dir.toAbsolutePath().toString());
        List<Series> out = new ArrayList<>();
        out.add(series("cold", restore, Map.of("FDRESTORE_SERVER", "off"), runs, warmup, null));
        Path tmp = Files.createTempDirectory("fdrestore-bench-serve");
        try (ServerProcess server = ServerProcess.start(bin, tmp.resolve("s.sock"), 120)) {
            out.add(series("served", restore, Map.of("FDRESTORE_SOCKET", server.socket().toString()), runs, warmup, server));
        } finally {
            Files.deleteIfExists(tmp.resolve("s.sock"));
            Files.deleteIfExists(tmp);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Series series(String mode, List<String> cmd, Map<String, String> env, int runs, int warmup,
                                 ServerProcess server) throws Exception {
        List<Double> wall = new ArrayList<>();
        List<Double> restore = new ArrayList<>();
        for (int i = 0; i < warmup + runs; i++) {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            pb.environment().remove("FDRESTORE_SERVER");
            pb.environment().putAll(env);
            int servedBefore = server == null ? 0 : server.served();
            long t0 = System.nanoTime();
            Process p = pb.start();
            byte[] stdout = p.getInputStream().readAllBytes();
            byte[] stderr = p.getErrorStream().readAllBytes();
            p.waitFor();
            long t1 = System.nanoTime();
            String text = new String(stdout, StandardCharsets.UTF_8);
            List<Integer> pids = new ArrayList<>();
            Map<String, Object> doc = null;
            try {
                doc = (Map<String, Object>) Json.parse(text);
                for (Object t : (List<Object>) doc.get("tasks")) {
                    pids.add(((Number) ((Map<String, Object>) t).get("pid")).intValue());
                }
            } catch (RuntimeException notJson) {
                // reported below
            } finally {
                RestoreCommand.stop(pids);
                gone(pids);
            }
            if (p.exitValue() != 0 || doc == null) {
                throw new IOException(mode + " run " + (i + 1) + ": " + String.join(" ", cmd) + " exited " + p.exitValue()
                        + ": " + new String(stderr, StandardCharsets.UTF_8).strip());
            }
            if (server != null && !server.awaitServed(servedBefore, TimeUnit.SECONDS.toNanos(5))) {
                // the log line comes just after the answer
                throw new IOException(mode + " run " + (i + 1) + " was not served:\n" + server.log());
            }
            if (i >= warmup) {
                wall.add((t1 - t0) / 1e6);
                restore.add(((Number) ((Map<String, Object>) doc.get("timings")).get("totalMs")).doubleValue());
            }
        }
        return new Series(mode, wall, restore);
    }

    /**
     * Waits (up to 10 s) until the stopped tasks are reaped, by init or by the server, so that the next run
     * does not share the cores with the kernel's tear-down of this one's processes.
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
