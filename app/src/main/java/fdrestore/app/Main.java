package fdrestore.app;

import picocli.CommandLine;

/** Entry point of the {@code fdrestore} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (restores(args)) {
            // The native binding, its memory and every executor op load on the other core while picocli
            // builds its model (the largest single cost left of a cold start): RestoreCommand's own call
            // then finds them warm or loading. A daemon thread: a usage error or --help just exits.
            fdrestore.core.runtime.TaskRuntime.warmUpInBackground();
        }
        System.exit(run(args));
    }

    /** Whether the command named by {@code args} is a restore (by the rule that picks the subcommand to build). */
    static boolean restores(String[] args) {
        return "restore".equals(Cli.subcommandOf(args));
    }

    /** Runs the command line without exiting; returns the exit code. */
    public static int run(String... args) {
        return run(Invocation.DIRECT, null, null, args);
    }

    /**
     * Runs a command line of {@code invocation}, printing on {@code out} and {@code err} (null: the
     * JVM's standard streams), and returns its exit code. pf4j's log level follows --verbose for this
     * command only.
     */
    public static int run(Invocation invocation, java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        String level = System.getProperty("org.slf4j.simpleLogger.defaultLogLevel");
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
            }
        }
        try {
            CommandLine cl = Cli.commandLine(invocation, args);
            if (out != null) {
                cl.setOut(out);
            }
            if (err != null) {
                cl.setErr(err);
            }
            return cl.execute(args);
        } finally {
            if (invocation != Invocation.DIRECT && level != null) {
                System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
            }
        }
    }
}
