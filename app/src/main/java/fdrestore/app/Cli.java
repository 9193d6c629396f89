package fdrestore.app;

import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.ImageSetException;
import fdrestore.core.image.codec.ImageFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The root command and its wiring: subcommands, version, exit codes, error reporting. */
@Command(name = "fdrestore",
        mixinStandardHelpOptions = true,
        versionProvider = Cli.Version.class,
        description = "Restores the file descriptor tables of a Linux process tree from CRIU images.",
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success",
                  "  1  a restore or a verification failed",
                  "  2  bad usage, or images that cannot be read or restored as they are",
                  "",
                  "Examples:",
                  "  fdrestore show images-samples/criu-4.2/a_pipe",
                  "  fdrestore restore --root images-samples/criu-4.2/a_pipe/root --verify \\",
                  "      --then=kill images-samples/criu-4.2/a_pipe",
                  "  fdrestore graph --svg -o a_pipe.svg images-samples/criu-4.2/a_pipe",
                  "  fdrestore check --json",
                  "",
                  "Completion: source share/completion/fdrestore.bash (bash) or .zsh (zsh) of the distribution."},
        subcommands = {RestoreCommand.class, DumpCommand.class, ShowCommand.class, CheckCommand.class, PluginsCommand.class, BenchCommand.class, GraphCommand.class, ServeCommand.class,
            CommandLine.HelpCommand.class})
public final class Cli implements Runnable {
    static {
        // pf4j logs through slf4j-simple: quiet unless --verbose (a user's own setting wins). Here, where
        // every command line is made (main, the server, the build's training, the tests), before any plugin.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    /** Exit code: success. */
    public static final int EXIT_OK = 0;
    /** Exit code: a restore or verification failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit code: bad usage or bad images. */
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Log the phases on stderr (INFO and above), and print the stack trace of an error.")
    boolean verbose;

    /** Where the command runs from: this JVM, or a client of {@code fdrestore serve}. */
    Invocation invocation = Invocation.DIRECT;

    @Option(names = "--log-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Append the detailed log (DEBUG; TRACE with -v), with the stack trace of any error, to FILE.")
    java.nio.file.Path logFile;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    static CommandLine commandLine() {
        return commandLine(Invocation.DIRECT);
    }

    /**
     * The command line of an invocation. A served one resolves the relative paths of its arguments against
     * its client's directory (the server's own is of no meaning to the user), and uses colours only when
     * the client's output is a terminal.
     */
    static CommandLine commandLine(Invocation invocation) {
        Cli root = new Cli();
        root.invocation = invocation;
        CommandLine cl = new CommandLine(root);
        reflow(cl);
        if (invocation.cwd() != null) {
            java.nio.file.Path cwd = invocation.cwd();
            cl.registerConverter(java.nio.file.Path.class, s -> cwd.resolve(s));
            cl.setColorScheme(CommandLine.Help.defaultColorScheme(invocation.terminal() && invocation.env().get("NO_COLOR") == null
                    ? CommandLine.Help.Ansi.ON : CommandLine.Help.Ansi.OFF));
        }
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> report(cmd.getErr(), e, root.verbose));
        cl.setExecutionStrategy(parsed -> {
            try {
                Log.configure(cl.getErr(), root.verbose, root.logFile);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage(), e);
            }
            try {
                Log.named("fdrestore.app.Cli").log(System.Logger.Level.DEBUG, () -> "fdrestore " + Version.version()
                        + " " + String.join(" ", parsed.originalArgs()));
                return new CommandLine.RunLast().execute(parsed);
            } catch (CommandLine.ExecutionException ex) {
                // reported here, while the log file is still open
                if (ex.getCause() instanceof Exception e) {
                    return report(ex.getCommandLine().getErr(), e, root.verbose);
                }
                throw ex;
            } finally {
                Log.close();
            }
        });
        return cl;
    }

    /**
     * Joins the prose lines of every command's description and footer into paragraphs, which picocli
     * then wraps at the usage width: the sources are wrapped for reading, not for an 80-column terminal.
     * An empty line, a line starting with %n and an indented line (an example) keep their place.
     */
    static void reflow(CommandLine cl) {
        CommandLine.Model.UsageMessageSpec u = cl.getCommandSpec().usageMessage();
        u.description(paragraphs(u.description()));
        u.footer(paragraphs(u.footer()));
        for (CommandLine sub : cl.getSubcommands().values()) {
            reflow(sub);
        }
    }

    static String[] paragraphs(String[] lines) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String l : lines) {
            boolean prose = !l.isEmpty() && !l.startsWith(" ") && !l.startsWith("%n");
            int last = out.size() - 1;
            if (prose && last >= 0 && !out.get(last).isEmpty() && !out.get(last).startsWith(" ")
                    && !out.get(last).endsWith("%n") && !out.get(last).endsWith(":")) {
                out.set(last, out.get(last) + " " + l);
            } else {
                out.add(l);
            }
        }
        return out.toArray(String[]::new);
    }

    /** The invocation a (sub)command of this command line runs in. */
    static Invocation invocation(CommandLine.Model.CommandSpec spec) {
        return spec.root().userObject() instanceof Cli c ? c.invocation : Invocation.DIRECT;
    }

    /** Prints one clear line for an error (and its trace with --verbose); returns the exit code. */
    static int report(PrintWriter err, Exception e, boolean verbose) {
        int code;
        String msg;
        if (e instanceof ImageFormatException || e instanceof ImageSetException) {
            code = EXIT_USAGE;
            msg = e.getMessage();
        } else if (e instanceof RestoreException) {
            code = EXIT_FAILED;
            msg = e.getMessage();
        } else if (e instanceof UsageException) {
            code = EXIT_USAGE;
            msg = e.getMessage();
        } else if (e instanceof IOException) {
            code = EXIT_USAGE;
            msg = e.getMessage() != null ? e.getMessage() : e.toString();
        } else {
            code = EXIT_FAILED;
            msg = "internal error: " + e;
        }
        Log.fileOnly(System.Logger.Level.ERROR, msg, e);
        if (Log.file() != null && !verbose) {
            // one line on the console; the whole message (a stall's wait-for graph, say) and the trace in the log
            int nl = msg.indexOf('\n');
            err.println("fdrestore: " + (nl < 0 ? msg : msg.substring(0, nl) + " ...") + " (details in " + Log.file() + ")");
        } else {
            err.println("fdrestore: " + msg);
        }
        if (verbose) {
            e.printStackTrace(err);
        } else if (code == EXIT_FAILED && !(e instanceof RestoreException)) {
            err.println("fdrestore: run with --verbose for the stack trace");
        }
        err.flush();
        return code;
    }

    /** A usage problem found after parsing (for example conflicting options). */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Reads the version that Maven filtered into version.properties. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"fdrestore " + version()};
        }

        static String version() {
            try (InputStream in = Cli.class.getResourceAsStream("version.properties")) {
                Properties p = new Properties();
                if (in != null) {
                    p.load(in);
                }
                return p.getProperty("version", "unknown");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
