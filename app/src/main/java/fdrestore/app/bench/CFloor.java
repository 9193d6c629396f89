package fdrestore.app.bench;

import fdrestore.app.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The C side of {@code fdrestore bench --floor}: finds {@code fdrestore-floor.c}, compiles it with
 * {@code gcc -O2}, runs it and reads its result line. The Java side is {@link FloorBench}.
 */
final class CFloor {
    /** The C floor's source in the distribution, relative to {@code fdrestore.home}. */
    static final String FLOOR_SOURCE = "share/bench/fdrestore-floor.c";

    private CFloor() {
    }

    /** The C source: $fdrestore.home/share/bench, else the source tree (in-tree runs). */
    static Path floorSource() throws Cli.UsageException {
        List<Path> tried = new ArrayList<>();
        String home = System.getProperty("fdrestore.home");
        if (home != null) {
            tried.add(Path.of(home).resolve(FLOOR_SOURCE));
        }
        tried.add(Path.of("app/src/main/c/fdrestore-floor.c"));
        tried.add(Path.of("src/main/c/fdrestore-floor.c"));
        tried.add(Path.of("../app/src/main/c/fdrestore-floor.c"));
        for (Path p : tried) {
            if (Files.isRegularFile(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new Cli.UsageException("--floor: the C floor's source fdrestore-floor.c is not found (tried " + tried
                + "); it ships in the distribution as " + FLOOR_SOURCE);
    }

    /** gcc on the PATH, or null. */
    static Path gcc() {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String d : path.split(":")) {
            if (!d.isEmpty()) {
                Path p = Path.of(d, "gcc");
                if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** Compiles the floor with gcc -O2 into {@code dir}; returns the program. */
    static Path compileFloor(Path source, Path dir) throws Exception {
        Path gcc = gcc();
        if (gcc == null) {
            throw new Cli.UsageException("--floor compiles a C program at bench time, but gcc is not on the PATH");
        }
        Path exe = dir.resolve("fdrestore-floor");
        Process p = new ProcessBuilder(gcc.toString(), "-O2", "-pthread", "-o", exe.toString(), source.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int rc = p.waitFor();
        if (rc != 0 || !Files.isExecutable(exe)) {
            throw new IOException("gcc -O2 " + source + " failed (exit " + rc + "):\n" + log.strip());
        }
        return exe;
    }

    /** Runs the floor; returns its stdout lines, the last being the "floor ..." line. */
    static List<String> runFloor(Path exe, int fds, int rounds, int window) throws Exception {
        Process p = new ProcessBuilder(exe.toString(), Integer.toString(fds), Integer.toString(rounds),
                Integer.toString(window)).redirectError(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        java.util.concurrent.CompletableFuture<byte[]> err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        String stdout = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int rc = p.waitFor();
        String stderr = new String(err.get(), java.nio.charset.StandardCharsets.UTF_8).strip();
        List<String> lines = stdout.lines().filter(l -> !l.isBlank()).toList();
        if (rc != 0 || lines.isEmpty() || !lines.get(lines.size() - 1).startsWith("floor ")) {
            throw new IOException("the C floor " + exe.getFileName() + " " + fds + " " + rounds + " " + window
                    + " failed (exit " + rc + "): " + (stderr.isEmpty() ? stdout.strip() : stderr));
        }
        return lines;
    }

    /** The C floor's final line, "floor key=value ...", as a map; checks the fields the bench needs. */
    static Map<String, String> parseFloorLine(String line) throws IOException {
        if (!line.startsWith("floor ")) {
            throw new IOException("not a floor result line: " + line);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String f : line.substring(6).trim().split("\\s+")) {
            int eq = f.indexOf('=');
            if (eq <= 0) {
                throw new IOException("bad field '" + f + "' in the floor line: " + line);
            }
            m.put(f.substring(0, eq), f.substring(eq + 1));
        }
        for (String k : List.of("fds", "rounds", "median_ns_per_fd", "min_ns_per_fd", "max_ns_per_fd",
                "transport_median_ns_per_fd", "transport_min_ns_per_fd", "transport_max_ns_per_fd", "eagain")) {
            if (!m.containsKey(k)) {
                throw new IOException("the floor line lacks " + k + ": " + line);
            }
        }
        try {
            Long.parseLong(m.get("fds"));
            Double.parseDouble(m.get("median_ns_per_fd"));
            Double.parseDouble(m.get("transport_median_ns_per_fd"));
        } catch (NumberFormatException e) {
            throw new IOException("a bad number in the floor line: " + line, e);
        }
        return m;
    }
}
