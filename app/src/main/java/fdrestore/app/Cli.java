package fdrestore.app;

import fdrestore.api.image.ImageSetException;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.spi.RestoreException;
import fdrestore.app.bench.BenchCommand;
import fdrestore.app.cli.CheckCommand;
import fdrestore.app.cli.CleanupCommand;
import fdrestore.app.cli.DumpCommand;
import fdrestore.app.cli.GraphCommand;
import fdrestore.app.cli.ImageCommand;
import fdrestore.app.cli.PluginsCommand;
import fdrestore.app.cli.RestoreCommand;
import fdrestore.app.cli.ShowCommand;
import fdrestore.app.serve.ServeCommand;
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
@Command(name = "fdrestore", addMethodSubcommands = false,
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
                  "For criu users:",
                  "  restore takes criu's spellings with criu's meaning: -D/--images-dir DIR,",
                  "  -d/--restore-detached, --pidfile FILE, -o/--log-file FILE, -v0 to -v4;",
                  "  dump takes -t/--tree PID, -D/--images-dir DIR and -o FILE. A criu option",
                  "  fdrestore does not implement is refused, saying why. Plugin options are",
                  "  --plugin-option KEY=VALUE (-o is criu's log file). `fdrestore image decode`",
                  "  and `encode` read and write crit's JSON.",
                  "",
                  "Completion: source share/completion/fdrestore.bash (bash) or .zsh (zsh) of the distribution."})
public final class Cli implements Runnable {
    /**
     * The subcommands by name, in the order --help lists them. They are not in the annotation: picocli
     * builds the model of every annotated subcommand (reflection over its options, an instance of it; or,
     * from the generated model, {@link CliModel}) whenever a command line is made, and a cold
     * {@code fdrestore restore} needs one of them ({@link #commandLine(Invocation, String...)}). The names are their {@code @Command} names
     * (CliConventionsTest checks it). Every command says {@code addMethodSubcommands = false}: none has
     * {@code @Command} methods, and picocli would otherwise read the annotations of every method of its
     * class at every start.
     */
    static final java.util.Map<String, Class<?>> SUBCOMMANDS = subcommands();

    private static java.util.Map<String, Class<?>> subcommands() {
        java.util.Map<String, Class<?>> m = new java.util.LinkedHashMap<>();
        m.put("restore", RestoreCommand.class);
        m.put("dump", DumpCommand.class);
        m.put("show", ShowCommand.class);
        m.put("image", ImageCommand.class);
        m.put("check", CheckCommand.class);
        m.put("cleanup", CleanupCommand.class);
        m.put("plugins", PluginsCommand.class);
        m.put("bench", BenchCommand.class);
        m.put("graph", GraphCommand.class);
        m.put("serve", ServeCommand.class);
        m.put("help", CommandLine.HelpCommand.class);
        return java.util.Collections.unmodifiableMap(m);
    }

    static {
        // pf4j logs through slf4j-simple: silent unless --verbose (a user's own setting wins); PluginHost says in
        // one line what went wrong with a plugin. Here, where every command line is made (main, the server, the
        // build's training, the tests), before any plugin.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "off");
        }
        // slf4j-simple, which the distribution ships, named: slf4j then takes it without a ServiceLoader scan
        // of the module path at the first plugin load (about 5 ms of a cold restore), and says so only above
        // its INFO level.
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", "org.slf4j.simple.SimpleServiceProvider");
            if (System.getProperty("slf4j.internal.verbosity") == null) {
                System.setProperty("slf4j.internal.verbosity", "WARN");
            }
        }
    }

    /** Exit code: success. */
    public static final int EXIT_OK = 0;
    /** Exit code: a restore or verification failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit code: bad usage or bad images. */
    public static final int EXIT_USAGE = 2;

    /**
     * The version of the JSON documents of every command (docs/fdrestore.schema.json): raised when a
     * member changes meaning or goes away, not when one is added.
     */
    public static final int SCHEMA_VERSION = 1;

    /** A new --json document of {@code command}: schemaVersion and command first. */
    public static java.util.Map<String, Object> document(String command) {
        java.util.Map<String, Object> doc = new java.util.LinkedHashMap<>();
        doc.put("schemaVersion", SCHEMA_VERSION);
        doc.put("command", command);
        return doc;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Log the phases on stderr (INFO and above), and print the stack trace of an error. "
                    + "criu's levels -v0 to -v4 are accepted: -v3 and -v4 are -v unless there is a log file (as "
                    + "with criu, the log then goes to the file only), -v0 to -v2 the default (the one-line error is "
                    + "always printed).")
    boolean verbose;

    /** criu's -vN, or -1. */
    int criuLevel = -1;

    /** criu's -vN: 3 and 4 mean --verbose without a log file, 0 to 2 fdrestore's default (errors only, one line). */
    void criuLevel(int level) {
        criuLevel = level;
    }

    @Option(names = "-v0", hidden = true, scope = ScopeType.INHERIT)
    void v0(boolean on) {
        criuLevel(0);
    }

    @Option(names = "-v1", hidden = true, scope = ScopeType.INHERIT)
    void v1(boolean on) {
        criuLevel(1);
    }

    @Option(names = "-v2", hidden = true, scope = ScopeType.INHERIT)
    void v2(boolean on) {
        criuLevel(2);
    }

    @Option(names = "-v3", hidden = true, scope = ScopeType.INHERIT)
    void v3(boolean on) {
        criuLevel(3);
    }

    @Option(names = "-v4", hidden = true, scope = ScopeType.INHERIT)
    void v4(boolean on) {
        criuLevel(4);
    }

    /** Where the command runs from: this JVM, or a client of {@code fdrestore serve}. */
    Invocation invocation = Invocation.DIRECT;

    /** Why this command line was built from the annotations, not from the generated model (-v says it); null if it was not. */
    String annotationsBecause;

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

    /** The command line of an invocation, with every subcommand (--help lists them all, completion needs them). */
    public static CommandLine commandLine(Invocation invocation) {
        return build(invocation, null);
    }

    /**
     * The command line that runs {@code args}: with only the subcommand they name when they name one
     * (other than help), else with all of them. The result is the same as with all: picocli looks at no
     * sibling once it is in a subcommand.
     */
    public static CommandLine commandLine(Invocation invocation, String... args) {
        return build(invocation, subcommandOf(args));
    }

    /**
     * The subcommand {@code args} name (the first word that is no root option or its value); "" for a
     * plain --version, which needs none; null for all of them.
     */
    static String subcommandOf(String... args) {
        if (args == null) {
            return null;
        }
        if (java.util.Set.of("-V", "--version", "-v", "--verbose").containsAll(java.util.Arrays.asList(args))
                && (java.util.Arrays.asList(args).contains("-V") || java.util.Arrays.asList(args).contains("--version"))) {
            return "";
        }
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-file")) {
                i++; // its value
            } else if (!args[i].startsWith("-")) {
                return SUBCOMMANDS.containsKey(args[i]) && !args[i].equals("help") ? args[i] : null;
            }
        }
        return null;
    }

    /**
     * The command line of an invocation with subcommand {@code only} (null: all, "": none). A served one resolves the
     * relative paths of its arguments against its client's directory (the server's own is of no meaning to
     * the user), and uses colours only when the client's output is a terminal.
     */
    private static CommandLine build(Invocation invocation, String only) {
        return build(invocation, only, false);
    }

    /** As {@link #build(Invocation, String)}; {@code annotations}: from the annotations even where the generated model fits. */
    static CommandLine build(Invocation invocation, String only, boolean annotations) {
        Cli root = new Cli();
        root.invocation = invocation;
        CommandLine cl = model(root, only, annotations);
        reflow(cl);
        if (invocation.cwd() != null) {
            java.nio.file.Path cwd = invocation.cwd();
            cl.registerConverter(java.nio.file.Path.class, s -> cwd.resolve(s));
            cl.setColorScheme(CommandLine.Help.defaultColorScheme(invocation.terminal() && invocation.env().get("NO_COLOR") == null
                    ? CommandLine.Help.Ansi.ON : CommandLine.Help.Ansi.OFF));
        }
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> report(cmd.getErr(), e, root.verbose, jsonCommand(parsed),
                cmd.getOut()));
        cl.setParameterExceptionHandler(Cli::usageError);
        cl.setExecutionStrategy(parsed -> {
            try {
                java.nio.file.Path logFile = logFile(root, parsed);
                if (root.criuLevel >= 3 && logFile == null) {
                    root.verbose = true;
                }
                Log.configure(cl.getErr(), root.verbose, logFile);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage(), e);
            }
            try {
                Log.named("fdrestore.app.Cli").log(System.Logger.Level.DEBUG, () -> "fdrestore " + Version.version()
                        + " " + String.join(" ", parsed.originalArgs()));
                if (root.annotationsBecause != null) {
                    Log.named("fdrestore.app.Cli").log(System.Logger.Level.INFO, "command line read from the annotations: "
                            + root.annotationsBecause);
                }
                return new CommandLine.RunLast().execute(parsed);
            } catch (CommandLine.ExecutionException ex) {
                // reported here, while the log file is still open
                if (ex.getCause() instanceof Exception e) {
                    return report(ex.getCommandLine().getErr(), e, root.verbose, jsonCommand(parsed), ex.getCommandLine().getOut());
                }
                throw ex;
            } finally {
                Log.close();
            }
        });
        return cl;
    }

    /**
     * The picocli model of {@code root} with the subcommands {@code only} names: the generated one ({@link CliModel}),
     * or, where it does not fit or {@code annotations} asks for it, the one picocli reads from the annotations.
     */
    private static CommandLine model(Cli root, String only, boolean annotations) {
        if (annotations) {
            root.annotationsBecause = "asked for";
        } else {
            try {
                return CliModel.commandLine(root, subcommands(only));
            } catch (CliModel.Unusable e) {
                root.annotationsBecause = e.getMessage();
            }
        }
        return annotated(root, only);
    }

    /** The subcommands of {@link #SUBCOMMANDS} that {@code only} names (null: all, "": none), in their order. */
    private static java.util.Map<String, Class<?>> subcommands(String only) {
        if (only == null) {
            return SUBCOMMANDS;
        }
        Class<?> c = SUBCOMMANDS.get(only);
        return c == null ? java.util.Map.of() : java.util.Map.of(only, c);
    }

    /**
     * The command line of {@code root} and the subcommands {@code only} names (null: all, "": none) as picocli makes it
     * from the annotations: what {@link CliModelWriter} writes down at build time, and what a start falls back to
     * when the generated model does not fit ({@link CliModel}).
     */
    static CommandLine annotated(Cli root, String only) {
        CommandLine cl = new CommandLine(root);
        for (java.util.Map.Entry<String, Class<?>> c : subcommands(only).entrySet()) {
            cl.addSubcommand(c.getValue());
        }
        return cl;
    }

    /**
     * A command that takes criu's {@code -o FILE} (the log file) beside the inherited {@code --log-file}:
     * restore and dump. graph keeps its own {@code -o FILE} (its output), so -o cannot be inherited.
     */
    public interface CriuLogFile {
        /** The file of {@code -o}, or null. */
        java.nio.file.Path criuLogFile();
    }

    /** The log file of this command line: --log-file, or criu's -o on restore and dump. */
    static java.nio.file.Path logFile(Cli root, CommandLine.ParseResult parsed) throws CommandLine.ParameterException {
        java.nio.file.Path o = null;
        CommandLine where = parsed.commandSpec().commandLine();
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            where = p.commandSpec().commandLine();
            if (p.commandSpec().userObject() instanceof CriuLogFile c && c.criuLogFile() != null) {
                o = c.criuLogFile();
            }
        }
        if (o != null && o.getFileName() != null && o.getFileName().toString().matches("[a-z][a-z0-9.-]*=.*")) {
            // fdrestore's -o KEY=VALUE of earlier releases: never taken for a log file name
            throw new CommandLine.ParameterException(where, "-o " + o.getFileName()
                    + ": -o is criu's log file; a plugin option is --plugin-option KEY=VALUE");
        }
        if (o != null && root.logFile != null && !o.equals(root.logFile)) {
            throw new CommandLine.ParameterException(where,
                    "-o " + o + " and --log-file " + root.logFile + " name two log files: give one");
        }
        return o != null ? o : root.logFile;
    }

    /**
     * A bad command line: one line saying what is wrong and one pointing at --help, instead of the whole
     * usage. A criu option fdrestore does not implement says why.
     */
    static int usageError(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        String msg = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u) {
            for (String a : u.getUnmatched()) {
                String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
                String why = CriuOptions.CRIU_UNSUPPORTED.get(name);
                if (why != null) {
                    msg = "criu option " + name + " is not supported by fdrestore: " + why;
                    break;
                }
            }
        }
        int nl = msg.indexOf('\n');
        err.println("fdrestore: " + (nl < 0 ? msg : msg.substring(0, nl)));
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        if (java.util.Arrays.asList(args).contains("--json")) {
            cmd.getOut().println(fdrestore.core.json.Json.pretty(errorDocument(cmd.getCommandSpec().name(), EXIT_USAGE,
                    nl < 0 ? msg : msg.substring(0, nl), ex)));
            cmd.getOut().flush();
        }
        return EXIT_USAGE;
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
    public static Invocation invocation(CommandLine.Model.CommandSpec spec) {
        return spec.root().userObject() instanceof Cli c ? c.invocation : Invocation.DIRECT;
    }

    /** The name of the command whose --json was given in this command line, or null. */
    static String jsonCommand(CommandLine.ParseResult parsed) {
        String found = null;
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--json")) {
                found = p.commandSpec().name();
            }
        }
        return found;
    }

    /**
     * The error document of a failed --json command: {"schemaVersion", "command", "exitCode", "error":
     * {"message", "task", "fd", "file", "fileId", "errno", "errnoName"}}, the members that do not apply null.
     */
    public static java.util.Map<String, Object> errorDocument(String command, int code, String message, Exception e) {
        java.util.Map<String, Object> err = new java.util.LinkedHashMap<>();
        err.put("message", message);
        Integer task = null;
        Integer fd = null;
        Long fileId = null;
        String file = null;
        if (e instanceof RestoreException r) {
            task = r.pid() >= 0 ? r.pid() : null;
            fd = r.fd() >= 0 ? r.fd() : null;
            fileId = r.fileId() >= 0 ? r.fileId() : null;
        } else if (e instanceof ImageFormatException f) {
            file = f.image() != null ? f.image().toString() : null;
        } else if (e instanceof ImageSetException s) {
            file = s.dir() != null ? s.dir().toString() : null;
        }
        Integer errno = null;
        for (Throwable t = e; t != null && errno == null; t = t.getCause()) {
            if (t instanceof fdrestore.api.sys.SysException se) {
                errno = se.errno();
            }
        }
        err.put("task", task);
        err.put("fd", fd);
        err.put("file", file);
        err.put("fileId", fileId);
        err.put("errno", errno);
        java.util.Map<String, Object> doc = document(command);
        doc.put("exitCode", code);
        doc.put("error", err);
        return doc;
    }

    /**
     * Prints one clear line for an error (and its trace with --verbose); returns the exit code. Under
     * --json ({@code jsonCommand} not null) the error is also a document on {@code out}.
     */
    static int report(PrintWriter err, Exception e, boolean verbose, String jsonCommand, PrintWriter out) {
        int code = report(err, e, verbose);
        if (jsonCommand != null && out != null) {
            String msg = e.getMessage() != null ? e.getMessage() : e.toString();
            out.println(fdrestore.core.json.Json.pretty(errorDocument(jsonCommand, code, code == EXIT_FAILED
                    && !(e instanceof RestoreException) ? "internal error: " + e : msg, e)));
            out.flush();
        }
        return code;
    }

    /** A restore that a bad image stopped at plan time, before any syscall: RestoreExceptions down to it. */
    static boolean stoppedByBadImage(Throwable e) {
        for (Throwable c = e; c instanceof RestoreException; c = c.getCause()) {
            if (c.getCause() instanceof ImageFormatException) {
                return true;
            }
        }
        return false;
    }

    /** Prints one clear line for an error (and its trace with --verbose); returns the exit code. */
    static int report(PrintWriter err, Exception e, boolean verbose) {
        int code;
        String msg;
        if (e instanceof ImageFormatException || e instanceof ImageSetException || stoppedByBadImage(e)) {
            code = EXIT_USAGE; // a restore that a bad image stopped at plan time, before any syscall
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
    public static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
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
