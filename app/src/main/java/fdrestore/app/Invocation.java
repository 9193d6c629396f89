package fdrestore.app;

import fdrestore.api.image.FdType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a command runs from: its directory, environment and terminal, and the signals it was sent. A
 * command run by this JVM's own {@code main} has the JVM's ({@link #DIRECT}); a command served by
 * {@code fdrestore serve} has its client's, and learns of the client's Ctrl-C here instead of by
 * dying.
 */
public class Invocation {
    /** This JVM's own: its directory, environment and console; a signal ends the JVM itself. */
    public static final Invocation DIRECT = new Invocation(null, System.getenv(), System.console() != null) {
        private volatile Boolean stderr;

        @Override
        public boolean stderrTerminal() {
            Boolean b = stderr;
            if (b == null) {
                b = fdrestore.api.sys.Sys.isatty(2);
                stderr = b;
            }
            return b;
        }
    };

    private final Path cwd;
    private final Map<String, String> env;
    private final boolean terminal;
    private final boolean stderrTerminal;
    private volatile int signal;

    /**
     * @param cwd      the directory relative paths of the command line are resolved against; null: the JVM's
     * @param terminal whether standard input and output are a terminal (progress display, colours)
     */
    public Invocation(Path cwd, Map<String, String> env, boolean terminal) {
        this(cwd, env, terminal, false);
    }

    /** @param stderrTerminal whether standard error is a terminal (the progress line goes there) */
    public Invocation(Path cwd, Map<String, String> env, boolean terminal, boolean stderrTerminal) {
        this.cwd = cwd;
        this.env = Map.copyOf(env);
        this.terminal = terminal;
        this.stderrTerminal = stderrTerminal;
    }

    /** The directory relative paths are resolved against, or null for the JVM's own. */
    public Path cwd() {
        return cwd;
    }

    public Map<String, String> env() {
        return env;
    }

    boolean terminal() {
        return terminal;
    }

    /** Whether standard error is a terminal: the progress line is drawn only there. */
    public boolean stderrTerminal() {
        return stderrTerminal;
    }

    /**
     * The first signal the client forwarded (SIGINT for its Ctrl-C, SIGHUP when it went away), or 0.
     * Always 0 for {@link #DIRECT}: there the signal ends the JVM and its shutdown hooks do the rest.
     */
    public int signal() {
        return signal;
    }

    /** Records a forwarded signal; the first one wins. */
    public void signalled(int signo) {
        if (signal == 0 && signo > 0) {
            signal = signo;
        }
    }

    /**
     * The plugins of {@code dir}, to close after use. A direct command loads them; a served one borrows
     * the server's, loaded once (closing a borrowed host leaves it loaded).
     */
    public PluginHost plugins(List<Path> dirs) {
        return PluginHost.load(dirs);
    }

    /**
     * The plugins of {@code dirs} that may restore one of {@code types} (a jar declaring other fd types only
     * is not opened: a cold restore loads what its images use). A served command borrows the server's
     * host, which has them all.
     */
    public PluginHost plugins(List<Path> dirs, Set<FdType> types) {
        return PluginHost.load(dirs, types);
    }

    /**
     * Processes this JVM spawned and leaves running when the command returns (--then=detach). A JVM that
     * exits hands them to init; a server keeps them as its children and must reap them when they end.
     */
    public void leaveRunning(List<Integer> pids) {
        // a direct command exits right after: init adopts them
    }
}
