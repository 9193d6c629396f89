package fdrestore.app;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.text.MessageFormat;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ResourceBundle;
import java.util.function.Supplier;

/**
 * fdrestore's logging, behind {@link System.Logger}: two sinks, each with its own threshold.
 * <ul>
 * <li>the console (stderr): nothing by default (errors are reported on one line by {@link Cli}),
 *     INFO and above with {@code -v/--verbose};</li>
 * <li>the log file ({@code --log-file FILE}): DEBUG and above (TRACE with {@code -v}), with stack traces.</li>
 * </ul>
 * {@link LogFinder} makes it the {@code System.LoggerFinder} of the application, so a
 * {@code System.getLogger(..)} anywhere (core included) ends up here. Callers in loops guard with
 * {@code isLoggable}; a logger that logs nowhere answers false at the cost of two volatile reads.
 *
 * <p>Never call a logger from a task executor thread (fd 2 and the log file's fd belong to the JVM's
 * table, not the task's): engine threads and the main thread only.
 */
public final class Log implements System.Logger {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
    private static final Object LOCK = new Object();
    private static volatile int consoleLevel = Level.OFF.getSeverity();
    private static volatile int fileLevel = Level.OFF.getSeverity();
    private static volatile PrintWriter console;
    private static volatile Writer file;
    private static volatile Path filePath;

    private final String name;

    private Log(String name) {
        this.name = name;
    }

    /** The logger of a class (its simple name in the log lines). */
    public static System.Logger of(Class<?> c) {
        return new Log(c.getName());
    }

    /** The logger with this name. */
    public static System.Logger named(String name) {
        return new Log(name);
    }

    /**
     * Sets up the sinks for one run of the command line.
     *
     * @param err     the console (stderr of the command line)
     * @param verbose {@code -v}: INFO and above on the console, TRACE in the file
     * @param logFile {@code --log-file}, or null
     */
    static void configure(PrintWriter err, boolean verbose, Path logFile) throws IOException {
        close();
        synchronized (LOCK) {
            console = err;
            consoleLevel = verbose ? Level.INFO.getSeverity() : Level.OFF.getSeverity();
            if (logFile != null) {
                Path parent = logFile.toAbsolutePath().getParent();
                if (parent != null && !Files.isDirectory(parent)) {
                    throw new IOException("--log-file " + logFile + ": no such directory " + parent);
                }
                // The log is fdrestore's own file, never user data: appended, created when missing.
                file = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND, StandardOpenOption.WRITE);
                filePath = logFile;
                fileLevel = verbose ? Level.TRACE.getSeverity() : Level.DEBUG.getSeverity();
            }
        }
    }

    /** The log file of this run, or null. */
    static Path file() {
        return filePath;
    }

    /** Flushes and closes the log file; logging goes nowhere until the next {@link #configure}. */
    static void close() {
        synchronized (LOCK) {
            consoleLevel = Level.OFF.getSeverity();
            fileLevel = Level.OFF.getSeverity();
            if (file != null) {
                try {
                    file.close();
                } catch (IOException ignored) {
                    // nothing left to tell it to
                }
            }
            file = null;
            filePath = null;
            console = null;
        }
    }

    /** Writes to the log file only (for errors already told on the console in one line). */
    static void fileOnly(Level level, String msg, Throwable thrown) {
        if (level.getSeverity() >= fileLevel) {
            new Log("fdrestore.app.Cli").writeTo(false, level, msg, thrown);
        }
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean isLoggable(Level level) {
        int s = level.getSeverity();
        return level != Level.OFF && (s >= consoleLevel || s >= fileLevel);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
        if (isLoggable(level)) {
            write(level, msg, thrown);
        }
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
        if (isLoggable(level)) {
            write(level, params == null || params.length == 0 ? format : MessageFormat.format(format, params), null);
        }
    }

    @Override
    public void log(Level level, Supplier<String> msgSupplier) {
        if (isLoggable(level)) {
            write(level, msgSupplier.get(), null);
        }
    }

    private void write(Level level, String msg, Throwable thrown) {
        writeTo(true, level, msg, thrown);
    }

    private void writeTo(boolean toConsole, Level level, String msg, Throwable thrown) {
        String shortName = name.substring(name.lastIndexOf('.') + 1);
        synchronized (LOCK) {
            int s = level.getSeverity();
            if (toConsole && s >= consoleLevel && console != null) {
                console.println("fdrestore: " + level.getName().toLowerCase(java.util.Locale.ROOT) + ": " + msg);
                console.flush();
            }
            if (s >= fileLevel && file != null) {
                try {
                    StringBuilder sb = new StringBuilder();
                    sb.append(LocalTime.now().format(TIME)).append(' ').append(String.format("%-7s", level.getName()))
                            .append(" [").append(Thread.currentThread().getName()).append("] ").append(shortName)
                            .append(": ").append(msg).append('\n');
                    if (thrown != null) {
                        StringWriter sw = new StringWriter();
                        thrown.printStackTrace(new PrintWriter(sw));
                        sb.append(sw);
                    }
                    file.write(sb.toString());
                    file.flush();
                } catch (IOException e) {
                    fileLevel = Level.OFF.getSeverity(); // a full disk must not fail the restore
                }
            }
        }
    }

    /**
     * The application's {@code System.LoggerFinder} (declared in module-info with {@code provides}):
     * every {@code System.getLogger} goes to {@link Log}.
     */
    public static final class LogFinder extends System.LoggerFinder {
        @Override
        public System.Logger getLogger(String name, Module module) {
            return new Log(name);
        }
    }
}
