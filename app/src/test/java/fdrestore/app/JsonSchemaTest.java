package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every --json output, failures included, validates against docs/fdrestore.schema.json. */
@Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class JsonSchemaTest {
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopTasks() {
        RestoredTasks.stop(started);
    }

    @SuppressWarnings("unchecked")
    static SchemaValidator schema() throws IOException {
        Path file = Samples.root().toAbsolutePath().getParent().resolve("docs/fdrestore.schema.json");
        return new SchemaValidator((Map<String, Object>) Json.parse(Files.readString(file)));
    }

    /** The document on stdout of {@code r}, checked against the schema; returns it. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> valid(SchemaValidator v, CliRunner r) {
        Object doc = Json.parse(r.out);
        List<String> problems = v.validate(doc);
        assertTrue(problems.isEmpty(), problems + "\n" + r);
        Map<String, Object> m = (Map<String, Object>) doc;
        assertEquals(1L, m.get("schemaVersion"), r.toString());
        return m;
    }

    @Test
    void showOfEverySampleValidates() throws IOException {
        SchemaValidator v = schema();
        List<Path> sets = new ArrayList<>();
        for (Path d : List.of(Samples.root().resolve("criu-4.2"), Samples.root().resolve("criu-4.2/zdtm"))) {
            try (Stream<Path> s = Files.list(d)) {
                s.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted().forEach(sets::add);
            }
        }
        assertTrue(sets.size() >= 70, sets.size() + " image sets");
        int fds = 0;
        int refused = 0;
        for (Path set : sets) {
            CliRunner r = CliRunner.run("show", "--json", set.toString());
            Map<String, Object> doc = valid(v, r); // an image set fdrestore refuses is an error document
            if (r.code != 0) {
                assertEquals(2, r.code, r.toString());
                assertTrue(doc.containsKey("error"), r.toString());
                refused++;
                continue;
            }
            for (Object t : (List<?>) doc.get("tasks")) {
                fds += ((List<?>) ((Map<?, ?>) t).get("fds")).size();
            }
        }
        assertTrue(fds > 1000, fds + " fds validated");
        assertTrue(refused < sets.size() / 4, refused + " image sets refused");
    }

    @Test
    @SuppressWarnings("unchecked")
    void showHasStructuredFieldsPerFd() throws IOException {
        CliRunner r = CliRunner.run("show", "--json", Samples.criu("g_regfile").toString());
        Map<String, Object> doc = valid(schema(), r);
        boolean append = false;
        for (Object t : (List<?>) doc.get("tasks")) {
            for (Object o : (List<?>) ((Map<?, ?>) t).get("fds")) {
                Map<String, Object> fd = (Map<String, Object>) o;
                if ("REG".equals(fd.get("kind")) && fd.get("path") instanceof String p && p.endsWith("g.log")) {
                    append = ((Long) fd.get("flags") & 02000) != 0 && String.valueOf(fd.get("openFlags")).contains("O_APPEND")
                            && fd.get("pos") instanceof Long;
                }
            }
        }
        assertTrue(append, "g.log: path, flags with O_APPEND, pos\n" + r.out);
    }

    @Test
    void restoreAndItsFailuresValidate(@TempDir Path tmp) throws Exception {
        SchemaValidator v = schema();
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        CliRunner ok = CliRunner.run("restore", "--json", "--root", root.toString(), "--hold", "--verify", "-d",
                Samples.criu("a_pipe").toString());
        Map<String, Object> doc = valid(v, ok);
        for (Object t : (List<?>) doc.get("tasks")) {
            started.add(((Long) ((Map<?, ?>) t).get("pid")).intValue());
        }
        assertEquals(0, ok.code, ok.toString());
        assertEquals("restore", doc.get("command"));

        // bad images: exit 2, the error document names the image set
        CliRunner bad = CliRunner.run("restore", "--json", "-d", tmp.toString());
        assertEquals(2, bad.code, bad.toString());
        Map<String, Object> err = valid(v, bad);
        assertEquals(2L, err.get("exitCode"));
        assertEquals(tmp.toString(), ((Map<?, ?>) err.get("error")).get("file"), bad.toString());
        assertTrue(bad.err.startsWith("fdrestore: "), "and the one line on stderr: " + bad);

        // a restore that fails in the engine: exit 1, the error names the task and the errno
        CliRunner failed = CliRunner.run("restore", "--json", "--root", root.toString(), "--hold", "-d",
                "--inject-fault", "pipe:1:EMFILE", Samples.criu("a_pipe").toString());
        Map<String, Object> f = valid(v, failed);
        assertEquals(1, failed.code, failed.toString());
        Map<?, ?> e = (Map<?, ?>) f.get("error");
        assertTrue(e.get("message") instanceof String m && m.contains("nothing was left behind"), failed.toString());

        // a bad option under --json: still a document
        CliRunner usage = CliRunner.run("restore", "--json", "--bogus", "DIR");
        assertEquals(2, usage.code, usage.toString());
        valid(v, usage);
    }

    @Test
    void dumpPluginsCheckAndBenchValidate(@TempDir Path tmp) throws Exception {
        SchemaValidator v = schema();
        Process p = new ProcessBuilder("sleep", "60").redirectErrorStream(true).start();
        try {
            awaitOnlyStdio(p.pid()); // sleep opens and closes its locale files as it starts: not a steady tree
            CliRunner d = CliRunner.run("dump", "--json", "--skip-unknown", "-t", Long.toString(p.pid()), "-D",
                    tmp.resolve("d").toString());
            assertEquals(0, d.code, d.toString());
            Map<String, Object> doc = valid(v, d);
            for (Object k : ((Map<?, ?>) doc.get("filesPerKind")).keySet()) {
                assertTrue(fdrestore.api.image.FdType.valueOf((String) k) != null, "kinds are fd type names: " + k);
            }
        } finally {
            p.destroyForcibly().waitFor();
        }
        CliRunner noTask = CliRunner.run("dump", "--json", "-t", "999999999", "-D", tmp.resolve("e").toString());
        assertTrue(noTask.code != 0, noTask.toString());
        valid(v, noTask);

        CliRunner plugins = CliRunner.run("plugins", "--json");
        assertEquals(0, plugins.code, plugins.toString());
        valid(v, plugins);
        CliRunner check = CliRunner.run("check", "--json");
        valid(v, check);
        CliRunner bench = CliRunner.run("bench", "--json", "--generate", "2x4", "--runs", "1", "--warmup", "0");
        assertEquals(0, bench.code, bench.toString());
        valid(v, bench);
    }

    /** Waits (up to 10 s) until process {@code pid} holds fds 0, 1 and 2 only. */
    private static void awaitOnlyStdio(long pid) throws Exception {
        Path fds = Path.of("/proc/" + pid + "/fd");
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (;;) {
            try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(fds)) {
                if (s.map(f -> f.getFileName().toString()).sorted().toList().equals(List.of("0", "1", "2"))) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "process " + pid + " still opens files after 10 s");
            Thread.sleep(5);
        }
    }

    @Test
    void theValidatorRejectsWhatTheSchemaForbids() throws IOException {
        SchemaValidator v = schema();
        assertTrue(!v.validate(Map.of("schemaVersion", 1L, "command", "check", "ok", true)).isEmpty(), "features missing");
        assertTrue(!v.validate(Map.of("schemaVersion", 2L, "command", "check", "ok", true, "features", List.of())).isEmpty(),
                "another version");
        assertTrue(v.validate(Map.of("schemaVersion", 1L, "command", "check", "ok", true, "features", List.of())).isEmpty());
        Map<String, Object> err = new java.util.LinkedHashMap<>(Map.of("message", "x", "fd", 3L, "fileId", 7L));
        err.put("task", null);
        err.put("file", null);
        err.put("errno", null);
        assertTrue(v.validate(Map.of("schemaVersion", 1L, "command", "restore", "exitCode", 1L, "error", err)).isEmpty());
        err.put("fd", "three");
        assertTrue(!v.validate(Map.of("schemaVersion", 1L, "command", "restore", "exitCode", 1L, "error", err)).isEmpty());
    }
}
