package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import fdrestore.api.image.ImageSet;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Restores every criu 4.2 dump of criu's own zdtm tests ({@code images-samples/criu-4.2/zdtm}) and of real
 * servers ({@code images-samples/criu-4.2/real}) in this one JVM, as a user would through the command line.
 * Each entry (its path below {@code criu-4.2}) has its expected outcome on a line of
 * {@code criu-corpus-expectations.txt}: {@code identical} (fd tables equal expected.norm after the same
 * normalisation, sharing proved by {@code --verify}'s kcmp checks against the images' file ids, the process
 * tree rebuilt, queued pipe and fifo data byte for byte, nothing under the root changed), {@code refused}
 * with a part of the one-line error a user gets (nothing left behind), or {@code differs} with the part of
 * the fd-table diff that is known and explained in that file (everything else checked as for identical). An entry without a line fails, so
 * the corpus and the table cannot drift apart; an entry that starts to restore fails until its line says so.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CriuCorpusTest {
    private static final Path CORPUS = Samples.root().resolve("criu-4.2");
    private static final List<String> GROUPS = List.of("zdtm", "real");
    private final List<Integer> started = new ArrayList<>();

    private List<Long> childrenBefore;

    /** One extra plugins folder for every entry. */
    @TempDir
    static Path plugins;

    /**
     * The distribution ships the eventfd plugin; the app's class path leaves it out on purpose
     * (EventfdPluginTest), so it comes from its module's jar, as a user's extra plugins folder would.
     */
    @org.junit.jupiter.api.BeforeAll
    static void eventfdPlugin() throws IOException {
        Path eventfd = EventfdPluginTest.eventfdJar().orElseThrow(() -> new AssertionError(
                "the eventfd plugin's jar is not built (mvn -pl plugins/eventfd package)"));
        Files.copy(eventfd, plugins.resolve(eventfd.getFileName()));
    }

    @org.junit.jupiter.api.BeforeEach
    void noteChildren() {
        childrenBefore = HardeningSupport.children();
    }

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
        try {
            Thread.sleep(100); // a task killed late becomes a zombie a moment later
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Long> left = new ArrayList<>(HardeningSupport.children());
        left.removeAll(childrenBefore);
        List<String> what = new ArrayList<>();
        for (long pid : left) {
            try {
                what.add(pid + " " + Files.readString(Path.of("/proc/" + pid + "/stat")).strip());
            } catch (IOException e) {
                what.add(pid + " gone");
            }
        }
        assertEquals(List.of(), what, "children of this JVM the restore left behind, a zombie included");
    }

    /** IDENTICAL, REFUSED (the restore fails) or DIFFERS (it restores, but a known line differs). */
    enum Outcome { IDENTICAL, REFUSED, DIFFERS }

    record Expectation(String entry, Outcome outcome, String message) {
        boolean identical() {
            return outcome == Outcome.IDENTICAL;
        }

        @Override
        public String toString() {
            return entry;
        }
    }

    static Map<String, Expectation> expectations() throws IOException {
        Map<String, Expectation> out = new LinkedHashMap<>();
        try (InputStream in = CriuCorpusTest.class.getResourceAsStream("/criu-corpus-expectations.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                String[] f = l.split("\\s+", 3);
                Outcome o = Outcome.valueOf(f[1].toUpperCase(java.util.Locale.ROOT));
                if ((o == Outcome.IDENTICAL) != (f.length == 2)) {
                    throw new IllegalStateException("criu-corpus-expectations.txt: bad line: " + line);
                }
                out.put(f[0], new Expectation(f[0], o, f.length == 3 ? f[2] : null));
            }
        }
        return out;
    }

    static Stream<Expectation> entries() throws IOException {
        return expectations().values().stream();
    }

    @Test
    void everyEntryOfTheCorpusHasAnExpectation() throws IOException {
        TreeSet<String> dirs = new TreeSet<>();
        for (String g : GROUPS) {
            try (Stream<Path> s = Files.list(CORPUS.resolve(g))) {
                s.filter(Files::isDirectory).forEach(p -> dirs.add(g + "/" + p.getFileName()));
            }
        }
        assertEquals(60, dirs.stream().filter(d -> d.startsWith("zdtm/")).count(), "zdtm has 60 entries (INDEX.md)");
        assertEquals(dirs, new TreeSet<>(expectations().keySet()), "criu-corpus-expectations.txt lists exactly the corpus");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("entries")
    void restoresAsCriuDid(Expectation x, @TempDir Path tmp) throws Exception {
        Path images = CORPUS.resolve(x.entry());
        Path root = Samples.prepareRoot(images, tmp.resolve("root"));
        Map<String, String> before = RestoreEndToEndTest.checksums(root);
        if (x.outcome() != Outcome.REFUSED) {
            Map<Integer, Integer> pids = CliRunner.restoreDetached(started, images, root, "--plugins", plugins.toString())
                    .pids();
            Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
            Map<Integer, Integer> ordered = new LinkedHashMap<>();
            for (int imagePid : expected.keySet()) {
                ordered.put(imagePid, pids.get(imagePid));
            }
            Map<Integer, List<String>> actual = FdSnapshot.take(ordered, root);
            if (expected.values().stream().flatMap(List::stream).anyMatch(l -> l.contains("tfd: * "))) {
                // the corpus' normalisation masks an epoll target's fd number where it writes "tfd: *"
                actual.replaceAll((pid, lines) -> lines.stream().map(l -> l.replaceAll("tfd: \\d+ ", "tfd: * ")).toList());
            }
            for (Map.Entry<Integer, Integer> p : pids.entrySet()) {
                // a procfs file of a task (/proc/PID/maps) is its restored process's: criu keeps pids, fdrestore does not
                actual.replaceAll((pid, lines) -> lines.stream().map(l -> l.replace(" -> /proc/" + p.getValue() + "/",
                        " -> /proc/" + p.getKey() + "/")).toList());
            }
            String diff = FdSnapshot.diff(expected, actual);
            if (x.identical()) {
                assertEquals("", diff, x.entry() + ": restored fd tables differ from expected.norm");
            } else {
                assertTrue(!diff.isEmpty() && diff.contains(x.message()), x.entry() + ": the known difference ("
                        + x.message() + ") is gone: update its line\n" + diff);
            }
            ImageSet set = ImageSet.open(images);
            RestoreEndToEndTest.checkProcessTree(images.resolve("expected.norm"), pids, set);
            RestoreEndToEndTest.checkQueuedData(set, pids);
        } else {
            long children = ProcessHandle.current().children().count();
            CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--plugins", plugins.toString(), "--detach",
                    images.toString());
            if (r.code == 0) {
                r.out.lines().filter(l -> l.matches("\\s+\\d+\\s+\\d+\\s+\\d+\\s.*"))
                        .forEach(l -> started.add(Integer.parseInt(l.strip().split("\\s+")[1])));
                fail(x.entry() + " restores now: make its line in criu-corpus-expectations.txt say what it gives\n" + r);
            }
            assertNotEquals(0, r.code, r.toString());
            assertTrue(r.err.startsWith("fdrestore: ") && r.err.contains(x.message()), x.entry()
                    + ": expected an error containing \"" + x.message() + "\"\n" + r);
            assertTrue(!r.err.contains("\tat "), "no stack trace without --verbose\n" + r);
            assertEquals(children, ProcessHandle.current().children().count(), "no process is left behind");
        }
        assertEquals(before, RestoreEndToEndTest.checksums(root), x.entry() + ": the restore must not modify any file under --root");
    }
}
