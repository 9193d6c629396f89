package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.core.json.Json;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * The eventfd plugin as an operator installs it: a jar dropped into a plugins folder. It is not on the
 * app's class path (app/pom.xml does not depend on it), so without the folder no plugin restores
 * EVENTFD, and with it the restore succeeds and verifies. The jar is the one {@code mvn -pl
 * plugins/eventfd package} builds (plugins/eventfd/target) or the installed one in the local Maven
 * repository.
 */
@EnabledIf(value = "eventfdJarBuilt", disabledReason = "the eventfd plugin jar is missing: build it with "
        + "`mvn -pl plugins/eventfd package` (plugins/eventfd/target/plugin-eventfd-*.jar)")
class EventfdPluginTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);

    private final List<Integer> started = new ArrayList<>();

    /** plugins/eventfd/target/plugin-eventfd-*.jar, else ~/.m2/repository/org/fdrestore/plugin-eventfd/VERSION/. */
    static Optional<Path> eventfdJar() {
        List<Path> dirs = new ArrayList<>();
        try {
            dirs.add(Samples.root().toAbsolutePath().getParent().resolve("plugins/eventfd/target"));
        } catch (IllegalStateException e) {
            // no checkout around: only the local repository
        }
        Path repo = Path.of(System.getProperty("user.home"), ".m2/repository/org/fdrestore/plugin-eventfd");
        if (Files.isDirectory(repo)) {
            try (Stream<Path> s = Files.list(repo)) {
                s.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).forEach(dirs::add);
            } catch (IOException e) {
                // unreadable: ignore
            }
        }
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.list(d)) {
                Optional<Path> jar = s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.startsWith("plugin-eventfd-") && n.endsWith(".jar") && !n.endsWith("-sources.jar")
                            && !n.endsWith("-tests.jar") && !n.endsWith("-javadoc.jar");
                }).findFirst();
                if (jar.isPresent()) {
                    return jar;
                }
            } catch (IOException e) {
                // try the next place
            }
        }
        return Optional.empty();
    }

    static boolean eventfdJarBuilt() {
        return eventfdJar().isPresent();
    }

    /** A plugins folder holding only the eventfd jar. */
    static Path pluginsDir(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("plugins"));
        Path jar = eventfdJar().orElseThrow();
        Files.copy(jar, dir.resolve(jar.getFileName()));
        return dir;
    }

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private static long children() {
        return ProcessHandle.current().children().count();
    }

    @Test
    void pluginsCommandListsTheDroppedInJar(@TempDir Path tmp) throws Exception {
        Path dir = pluginsDir(tmp);
        CliRunner r = CliRunner.run("plugins", "--plugins", dir.toString());
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.contains("eventfd") && r.out.contains("STARTED") && r.out.contains("EVENTFD"), r.out);
    }

    private static Path images(Path tmp) throws IOException {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0).task(2, 1);
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        long efd = b.eventfd(Linux.O_RDWR | Linux.O_NONBLOCK, 7);
        long sem = b.eventfd(Linux.O_RDWR | 1, 3);
        for (int pid = 1; pid <= 2; pid++) {
            b.fd(pid, 0, devnull).fd(pid, 1, devnull).fd(pid, 2, devnull).fd(pid, 5, efd);
        }
        b.fd(2, 6, sem, true);
        return b.write(tmp.resolve("images"));
    }

    @Test
    void withoutThePluginTheRestoreFailsBeforeAnySyscall(@TempDir Path tmp) throws Exception {
        Path images = images(tmp);
        Path empty = Files.createDirectories(tmp.resolve("no-plugins"));
        long kids = children();
        CliRunner r = assertTimeoutPreemptively(LIMIT,
                () -> CliRunner.run("restore", "--detach", "--plugins", empty.toString(), images.toString()));
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("no plugin restores EVENTFD (used by task 1 fd 5, task 2 fd 5, task 2 fd 6)"), r.err);
        assertEquals(kids, children(), "nothing was spawned");
    }

    @Test
    @SuppressWarnings("unchecked")
    void withThePluginTheRestoreSucceedsAndVerifies(@TempDir Path tmp) throws Exception {
        Path images = images(tmp);
        Path dir = pluginsDir(tmp);
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--detach", "--verify", "--json",
                "--plugins", dir.toString(), images.toString()));
        Map<Integer, Integer> pids = new LinkedHashMap<>();
        if (r.out.contains("\"tasks\"")) {
            Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
            for (Object o : (List<Object>) doc.get("tasks")) {
                Map<String, Object> t = (Map<String, Object>) o;
                started.add(((Number) t.get("pid")).intValue());
                pids.put(((Number) t.get("imagePid")).intValue(), ((Number) t.get("pid")).intValue());
            }
            assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out);
        }
        assertEquals(0, r.code, r.toString());
        for (int pid = 1; pid <= 2; pid++) {
            List<String> info = Files.readAllLines(Path.of("/proc", pids.get(pid).toString(), "fdinfo", "5"));
            assertTrue(info.contains("eventfd-count:                7") || info.stream().anyMatch(
                    l -> l.replaceAll("\\s+", " ").equals("eventfd-count: 7")), info.toString());
            assertTrue(info.stream().anyMatch(l -> l.replaceAll("\\s+", " ").equals("flags: 04002")), info.toString());
        }
        List<String> sem = Files.readAllLines(Path.of("/proc", pids.get(2).toString(), "fdinfo", "6"));
        String all = String.join("\n", sem).replaceAll("[ \\t]+", " ");
        assertTrue(all.contains("eventfd-count: 3"), all);
        assertTrue(all.contains("flags: 02000002"), all);
        if (all.contains("eventfd-semaphore")) { // shown by kernels since 6.6
            assertTrue(all.contains("eventfd-semaphore: 1"), all);
        }
        assertFalse(Arrays.asList(r.err.split("\n")).stream().anyMatch(l -> l.contains("\tat ")), r.err);
    }
}
