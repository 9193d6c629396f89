package fdrestore.app;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * The class-loading workload the build runs once, with {@code -XX:ArchiveClassesAtExit}, to make the
 * distribution's AppCDS archive ({@code lib/fdrestore.jsa}): the commands a restore's start-up shares
 * (picocli, the image model and protobuf, pf4j and the plugins, jnr and the syscall facade) and a restore
 * of the sample (its processes stopped at once). It runs in the same module path as {@code bin/fdrestore},
 * prints nothing and changes nothing: the sample's files are only read.
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=lib/fdrestore.jsa -p lib -m fdrestore.app/fdrestore.app.Training
 * SAMPLE-DIR}.
 */
public final class Training {
    private Training() {
    }

    public static void main(String[] args) {
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        run(sink, "--version");
        run(sink, "--help");
        run(sink, "plugins", "--json");
        run(sink, "check", "--json");
        if (args.length > 0 && Files.isDirectory(Path.of(args[0]))) {
            run(sink, "show", args[0]);
            run(sink, "show", "--json", args[0]);
            run(sink, "graph", args[0]);
            // A real restore (its processes are stopped at once): the engine, the runtime, the plugins'
            // restore side and the verifier are archived too. Best effort, like the rest: a build that can
            // not restore (no permission, an odd kernel) just archives less.
            Path root = Path.of(args[0], "root");
            if (Files.isDirectory(root)) {
                run(sink, "restore", "--root", root.toString(), "--verify", "--then=kill", args[0]);
            }
        }
    }

    private static void run(PrintWriter sink, String... args) {
        CommandLine cl = Cli.commandLine();
        cl.setOut(sink);
        cl.setErr(sink);
        cl.execute(args);
    }
}
