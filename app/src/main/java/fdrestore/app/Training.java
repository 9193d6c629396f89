package fdrestore.app;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * The class-loading workload the build runs once, with {@code -XX:ArchiveClassesAtExit}, to make the
 * distribution's AppCDS archive ({@code lib/fdrestore.jsa}): the commands a restore's start-up shares
 * (picocli, the image model and protobuf, pf4j and the plugins, jnr and the syscall facade). It runs in
 * the same module path as {@code bin/fdrestore}, prints nothing and changes nothing.
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=lib/fdrestore.jsa -p lib -m fdrestore.app/fdrestore.app.Training
 * SAMPLE-DIR}.
 */
public final class Training {
    private Training() {
    }

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"); // pf4j stays quiet, as under Main
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        run(sink, "--version");
        run(sink, "--help");
        run(sink, "plugins", "--json");
        run(sink, "check", "--json");
        if (args.length > 0 && Files.isDirectory(Path.of(args[0]))) {
            run(sink, "show", args[0]);
            run(sink, "show", "--json", args[0]);
            run(sink, "graph", args[0]);
        }
    }

    private static void run(PrintWriter sink, String... args) {
        CommandLine cl = Cli.commandLine();
        cl.setOut(sink);
        cl.setErr(sink);
        cl.execute(args);
    }
}
