package fdrestore.app.cli;

import fdrestore.app.CliRunner;
import fdrestore.app.Invocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import fdrestore.testkit.Samples;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgressDisplayTest {
    static final Map<String, String> NO_CI = Map.of();

    @Test
    void shownOnlyForBigRestoresOnATerminalOutsideCiWithoutJson() {
        assertTrue(ProgressDisplay.wanted(null, false, true, NO_CI, 8, 10));
        assertTrue(ProgressDisplay.wanted(null, false, true, NO_CI, 1, 256));
        assertFalse(ProgressDisplay.wanted(null, false, true, NO_CI, 4, 26), "a small restore needs none");
        assertFalse(ProgressDisplay.wanted(null, true, true, NO_CI, 100, 1000), "--json");
        assertFalse(ProgressDisplay.wanted(null, false, false, NO_CI, 100, 1000), "not a terminal");
        assertFalse(ProgressDisplay.wanted(null, false, true, Map.of("CI", "true"), 100, 1000), "CI");
        assertTrue(ProgressDisplay.wanted(Boolean.TRUE, true, false, Map.of("CI", "1"), 1, 1), "--progress wins");
        assertFalse(ProgressDisplay.wanted(Boolean.FALSE, false, true, NO_CI, 100, 1000), "--no-progress wins");
    }

    @Test
    void theLineShowsCountsAndTheWaitAndIsErasedOnClose() {
        StringWriter sw = new StringWriter();
        ProgressDisplay d = new ProgressDisplay(new PrintWriter(sw));
        d.totals(10, 300);
        d.phase("restoring");
        d.fdsDone(120);
        d.taskDone();
        d.taskDone();
        d.waiting("task 7 fd 3 waits for file 12 OPEN");
        String line = d.line();
        assertTrue(line.startsWith("fdrestore: restoring | tasks 2/10 | fds 120/300 | "), line);
        assertTrue(line.endsWith(" | waiting: task 7 fd 3 waits for file 12 OPEN"), line);
        d.phase("verifying");
        assertFalse(d.line().contains("waiting"), "a new phase clears the wait");
        d.close();
        d.close();
        String written = sw.toString();
        // whatever was painted, the last thing on the terminal is a cleared line
        assertTrue(written.isEmpty() || written.endsWith("\r"), written);
        assertFalse(written.contains("\n"), "never a new line: it is one line redrawn");
    }

    @Test
    void createGivesNothingWhenNotWanted() {
        StringWriter sw = new StringWriter();
        RestoreProgress p = ProgressDisplay.create(Invocation.DIRECT, new PrintWriter(sw), Boolean.FALSE, false, 100, 1000);
        assertSame(RestoreProgress.NONE, p);
        p.phase("x");
        p.fdsDone(3);
        ProgressDisplay.end(p);
        assertEquals("", sw.toString());
    }

    @Test
    void aForcedDisplayOnARealRestoreEndsWithTheTotalsAndAClearedLine(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp);
        CliRunner r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> CliRunner.run("restore", "--progress",
                "--then=kill", "--root", root.toString(), Samples.criu("a_pipe").toString()));
        assertEquals(0, r.code, r.toString());
        assertTrue(r.err.contains("\rfdrestore: verifying | tasks 4/4 | fds 26/26 | "), r.err);
        assertTrue(r.err.endsWith("\r"), "the line is erased before the result is printed: " + r.err);
        assertFalse(r.out.contains("fdrestore: "), r.out);
        CliRunner quiet = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> CliRunner.run("restore", "--then=kill",
                "--root", root.toString(), Samples.criu("a_pipe").toString()));
        assertEquals(0, quiet.code, quiet.toString());
        assertEquals("", quiet.err, "4 tasks, 26 fds, not a terminal: no progress");
    }
}
