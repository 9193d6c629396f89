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
 * classes linked and the training's method profiles). The commands a restore's start-up shares (picocli,
 * the image model and protobuf, pf4j and the plugins, jnr and the syscall facade), a restore of each
 * sample given (its processes stopped at once), and two restores of a generated 8-task, 512-fd set. It
 * runs in the same module path as {@code bin/fdrestore}, prints nothing and changes nothing: the samples'
 * files are only read, the generated set lives in a temporary directory removed at the end.
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=lib/fdrestore.jsa -p lib -m fdrestore.app/fdrestore.app.Training
 * SAMPLE-DIR...}.
 */
public final class Training {
    private Training() {
    }

    public static void main(String[] args) throws IOException {
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        run(sink, "--version");
        run(sink, "--help");
        run(sink, "plugins", "--json");
        run(sink, "check", "--json");
        for (String sample : args) {
            if (Files.isDirectory(Path.of(sample))) {
                restore(sink, Path.of(sample), Path.of(sample, "root"), 1);
            }
        }
        // A generated set: the engine's paths for many fds a task, shared between tasks (best effort, like
        // the rest: a build that can not restore, no permission or an odd kernel, just archives less).
        Path tmp = Files.createTempDirectory("fdrestore-training");
        try {
            SyntheticImages.write(SyntheticImages.Spec.parse("8x64"), tmp.resolve("images"), tmp.resolve("root"));
            restore(sink, tmp.resolve("images"), tmp.resolve("root"), 2);
        } finally {
            BenchCommand.deleteTree(tmp);
        }
    }

    /** show, graph and {@code times} restores of {@code images} (processes stopped at once, verified). */
    private static void restore(PrintWriter sink, Path images, Path root, int times) {
        run(sink, "show", images.toString());
        run(sink, "show", "--json", images.toString());
        run(sink, "graph", images.toString());
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
