package fdrestore.app;

import fdrestore.app.bench.BenchCommand;
import fdrestore.app.bench.SyntheticImages;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * The class-loading workload the build runs once per JVM kind to make the distribution's start-up
 * archives: with {@code -XX:ArchiveClassesAtExit} on JDK 17 ({@code lib/fdrestore.jsa}, AppCDS) and with
 * {@code -XX:AOTCacheOutput} on JDK 25 ({@code lib/fdrestore.aot}, the AOT cache, which also keeps the
 * classes linked and the training's method profiles). {@code --version}, then a restore of each sample
 * given (its processes stopped at once, verified), and two restores of a generated set for each
 * {@code --generated SPEC}. It runs in the same module path as {@code bin/fdrestore}, prints nothing and
 * changes nothing: the samples' files are only read, a generated set lives in a temporary directory
 * removed at the end.
 *
 * <p>Only restores, on purpose: the JVM maps and relocates the whole archive at every start, about 5 ms a
 * megabyte here, so what the archive holds beyond a restore's classes slows every restore down. Training
 * also on --help, plugins, check, show, graph and a generated set made a 31.4 MB cache; restores of
 * a_pipe and g_regfile alone make 26.9 MB, and a cold g_regfile restore about 24 ms faster, while
 * show and --help stayed as fast as before (docs/PERFORMANCE.md, "Fourth pass").
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=lib/fdrestore.jsa -p lib -m fdrestore.app/fdrestore.app.Training
 * [--generated SPEC] SAMPLE-DIR...}.
 */
public final class Training {
    private Training() {
    }

    public static void main(String[] args) throws IOException {
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        run(sink, "--version");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--generated") && i + 1 < args.length) {
                generated(sink, args[++i]);
            } else if (Files.isDirectory(Path.of(args[i]))) {
                restore(sink, Path.of(args[i]), Path.of(args[i], "root"), 1);
            }
        }
    }

    /**
     * Two restores of a generated set of {@code spec} (best effort, like the rest: a build that can not
     * restore, no permission or an odd kernel, just archives less). It lives in a temporary directory.
     */
    private static void generated(PrintWriter sink, String spec) throws IOException {
        Path tmp = Files.createTempDirectory("fdrestore-training");
        try {
            SyntheticImages.write(SyntheticImages.Spec.parse(spec), tmp.resolve("images"), tmp.resolve("root"));
            restore(sink, tmp.resolve("images"), tmp.resolve("root"), 2);
        } finally {
            BenchCommand.deleteTree(tmp);
        }
    }

    /** {@code times} restores of {@code images} (processes stopped at once, verified). */
    private static void restore(PrintWriter sink, Path images, Path root, int times) {
        if (Files.isDirectory(root)) {
            for (int i = 0; i < times; i++) {
                run(sink, "restore", "--root", root.toString(), "--verify", "--then=kill", images.toString());
            }
        }
    }

    private static void run(PrintWriter sink, String... args) {
        CommandLine cl = Cli.commandLine(Invocation.DIRECT, args); // as Main makes it
        cl.setOut(sink);
        cl.setErr(sink);
        cl.execute(args);
    }
}
