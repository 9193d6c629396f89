package fdrestore.app;

import fdrestore.app.bench.SyntheticImages;
import fdrestore.app.cli.ShowCommand;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ShowCommandTest {
    static Path sample(String name) {
        return Paths.get(System.getProperty("fdrestore.samples", "../images-samples")).resolve("criu-4.2").resolve(name);
    }

    /**
     * Issue 23 item 8: {@code show} finds each file's master once, not once per fd. 1,000 tasks share
     * every file (80,000 fds, thousands a file): the masters scan each fd once (a scan per fd would be
     * about 80,000 x 1,000 x 3), and the CLI shows it well inside the timeout (it took 106 s before).
     */
    @Test
    @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void showIsLinearInTheFdsOfAWidelySharedFile(@TempDir Path tmp) throws Exception {
        Path images = tmp.resolve("images");
        SyntheticImages.write(SyntheticImages.Spec.parse("1000x80:shared=1:shape=flat"), images, tmp.resolve("root"));
        ImageSet set = ImageSet.open(images);
        long fds = set.tasks().stream().mapToInt(t -> t.fds().size()).sum();
        int widest = set.sharers().values().stream().mapToInt(List::size).max().orElse(0);
        assertTrue(fds >= 80_000 && widest >= 1000, fds + " fds, widest file " + widest);
        ShowCommand.Masters text = new ShowCommand.Masters(set);
        ShowCommand.text(set, Map.of(), new PrintWriter(Writer.nullWriter()), text);
        assertTrue(text.scanned <= fds, "text: " + text.scanned + " sharers scanned for " + fds + " fds");
        ShowCommand.Masters json = new ShowCommand.Masters(set);
        ShowCommand.toJson(set, Map.of(), json);
        assertEquals(fds, json.scanned, "json: every fd's file scanned once");
        for (String[] args : new String[][] {{"show", images.toString()}, {"show", "--json", images.toString()}}) {
            long t0 = System.nanoTime();
            CliRunner r = CliRunner.run(args);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.code, r.err);
            System.out.printf("SHOW %s: %d fds, %d tasks, widest file %d fds: %d ms%n", String.join(" ", args)
                    .replace(images.toString(), "1000x80"), fds, set.tasks().size(), widest, ms);
        }
    }

    @Test
    void showsTheTreeAndMarksMastersAndSlaves() {
        CliRunner r = CliRunner.run("show", sample("a_pipe").toString());
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.contains("4 tasks"), r.out);
        for (int pid : new int[] {30508, 30512, 30513, 30514}) {
            assertTrue(r.out.contains("task " + pid), "task " + pid + " listed\n" + r.out);
        }
        // Two pipes, each a nested object behind two open files.
        assertTrue(r.out.contains("pipe 421542: files [5, 6]"), r.out);
        assertTrue(r.out.contains("pipe 421543: files [7, 8]"), r.out);
        // The read end of pipe P: master in the root at fd 3, slave in child2 at fd 100 (cloexec).
        assertTrue(r.out.matches("(?s).*fd    3  PIPE\\s+pipe:\\[421542\\] read end, 1000 B queued, size 131072.*master of 3 slaves.*"), r.out);
        Matcher m = Pattern.compile("fd  100  PIPE\\s+pipe:\\[421542\\] read end.*cloexec\\s+\\[file 5, slave of task 30508 fd 3\\]").matcher(r.out);
        assertTrue(m.find(), r.out);
        assertTrue(r.out.contains("file 5 pipe:[421542] read end, 1000 B queued, size 131072: master task 30508 fd 3; "
                + "slaves task 30512 fd 3, task 30514 fd 3, task 30513 fd 100"), r.out);
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonHasTasksWithPidsAndFds() {
        CliRunner r = CliRunner.run("show", "--json", sample("a_pipe").toString());
        assertEquals(0, r.code, r.toString());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
        List<Object> tasks = (List<Object>) doc.get("tasks");
        assertEquals(4, tasks.size());
        int pipes = 0;
        for (Object o : tasks) {
            Map<String, Object> t = (Map<String, Object>) o;
            assertTrue(t.get("pid") instanceof Number, t.toString());
            List<Object> fds = (List<Object>) t.get("fds");
            assertFalse(fds.isEmpty());
            for (Object f : fds) {
                if ("PIPE".equals(((Map<String, Object>) f).get("kind"))) {
                    pipes++;
                }
            }
        }
        assertEquals(14, pipes, "pipe fds over the 4 tasks");
        assertEquals(2, ((List<Object>) doc.get("pipes")).size());
    }

    @Test
    void everySampleShows() throws Exception {
        try (var dirs = Files.list(sample("a_pipe").getParent())) {
            for (Path d : (Iterable<Path>) dirs.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted()::iterator) {
                CliRunner r = CliRunner.run("show", d.toString());
                assertEquals(0, r.code, d + ": " + r);
                assertFalse(r.out.contains("cannot describe"), d + ": " + r.out);
                CliRunner j = CliRunner.run("show", "--json", d.toString());
                assertEquals(0, j.code, d + ": " + j);
                Json.parse(j.out);
            }
        }
    }

    @Test
    void notAnImageSetIsExitTwoWithoutStackTrace(@TempDir Path tmp) throws Exception {
        CliRunner r = CliRunner.run("show", tmp.toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("not an image set"), r.err);
        assertFalse(r.err.contains("\tat "), "no stack trace without --verbose: " + r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);

        CliRunner missing = CliRunner.run("show", tmp.resolve("nope").toString());
        assertEquals(2, missing.code, missing.toString());
        assertTrue(missing.err.contains("no such directory"), missing.err);
    }

    @Test
    void verboseAddsTheStackTrace(@TempDir Path tmp) {
        CliRunner r = CliRunner.run("show", "--verbose", tmp.toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("\tat "), r.err);
    }

    @Test
    void helpAndVersionAreAccurate() {
        CliRunner v = CliRunner.run("--version");
        assertEquals(0, v.code);
        assertTrue(v.out.matches("fdrestore \\d+\\.\\d+\\.\\d+.*\\R"), v.out);
        CliRunner h = CliRunner.run("--help");
        assertEquals(0, h.code);
        assertTrue(h.out.contains("show") && h.out.contains("Exit codes"), h.out);
        CliRunner hs = CliRunner.run("show", "--help");
        assertTrue(hs.out.contains("--json") && hs.out.contains("Examples"), hs.out);
        CliRunner bad = CliRunner.run("show");
        assertEquals(2, bad.code, bad.toString());
        assertTrue(bad.err.contains("Missing required parameter"), bad.err);
    }
}
