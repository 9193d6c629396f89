package fdrestore.app;

import picocli.CommandLine;

/** Entry point of the {@code fdrestore} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static {
        // pf4j logs through slf4j-simple: quiet unless --verbose (a user's own setting wins).
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    /** Runs the command line without exiting; returns the exit code. */
    public static int run(String... args) {
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
            }
        }
        return Cli.commandLine().execute(args);
    }
}
