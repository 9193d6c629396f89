package fdrestore.app;

import picocli.CommandLine;

/** Entry point of the {@code fdrestore} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line without exiting; returns the exit code. */
    public static int run(String... args) {
        return Cli.commandLine().execute(args);
    }
}
