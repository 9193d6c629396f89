package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** -v/--verbose and --log-file: System.Logger sinks, errors on one line with the detail in the log. */
class LogTest {
    @AfterEach
    void reset() {
        Log.close();
    }

    @Test
    void consoleGetsInfoOnlyWithVerbose(@TempDir Path tmp) throws Exception {
        StringWriter quiet = new StringWriter();
        Log.configure(new PrintWriter(quiet), false, null);
        System.Logger log = Log.named("x.Y");
        assertFalse(log.isLoggable(System.Logger.Level.INFO));
        assertFalse(log.isLoggable(System.Logger.Level.ERROR), "errors are told by Cli.report, once");
        log.log(System.Logger.Level.ERROR, "nothing");
        assertEquals("", quiet.toString());

        StringWriter loud = new StringWriter();
        Log.configure(new PrintWriter(loud), true, null);
        assertTrue(log.isLoggable(System.Logger.Level.INFO));
        assertFalse(log.isLoggable(System.Logger.Level.DEBUG));
        log.log(System.Logger.Level.INFO, "phase {0} of {1}", 1, 3);
        log.log(System.Logger.Level.DEBUG, "not shown");
        assertEquals("fdrestore: info: phase 1 of 3" + System.lineSeparator(), loud.toString());
    }

    @Test
    void theFileGetsDebugWithTraces(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("fdrestore.log");
        StringWriter console = new StringWriter();
        Log.configure(new PrintWriter(console), false, file);
        System.Logger log = new Log.LogFinder().getLogger("fdrestore.core.engine.Engine", getClass().getModule());
        assertTrue(log.isLoggable(System.Logger.Level.DEBUG));
        assertFalse(log.isLoggable(System.Logger.Level.TRACE));
        log.log(System.Logger.Level.DEBUG, "task 7 waits for file 3", new IllegalStateException("stalled"));
        Log.close();
        String text = Files.readString(file);
        assertTrue(text.contains("DEBUG") && text.contains("Engine: task 7 waits for file 3"), text);
        assertTrue(text.contains("java.lang.IllegalStateException: stalled") && text.contains("\tat "), text);
        assertEquals("", console.toString());
    }

    @Test
    void anErrorIsOneLineAndItsDetailIsInTheLogFile(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("run.log");
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        CliRunner r = CliRunner.run("show", "--log-file", file.toString(), empty.toString());
        assertEquals(2, r.code, r.toString());
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.startsWith("fdrestore: ") && r.err.contains("not an image set")
                && r.err.contains("(details in " + file + ")"), r.err);
        String text = Files.readString(file);
        assertTrue(text.contains("DEBUG") && text.contains("show --log-file"), "the command line is logged: " + text);
        assertTrue(text.contains("ERROR") && text.contains("not an image set") && text.contains("\tat "), text);
    }

    @Test
    void aLogFileInAMissingDirectoryIsAUsageError(@TempDir Path tmp) {
        CliRunner r = CliRunner.run("check", "--log-file", tmp.resolve("no/such/dir/x.log").toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("no such directory"), r.err);
    }
}
