package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.core.json.Json;
import fdrestore.core.process.Processes;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin kit as an outsider uses it (issue 18): a project generated from fdrestore-plugin-archetype
 * in a directory outside the reactor, built by Maven against installed artifacts only, its jar loaded by
 * the distribution with --plugins-only and an image set restored through it.
 *
 * <p>"Installed" is a repository of the test's own (target/plugin-kit-it/repo): this build's artifacts are
 * copied into it the way `mvn install` lays them out, and everything else (pf4j, protobuf, JUnit, Maven's
 * plugins, protoc) comes from this build's local repository, read as a file repository ahead of Maven
 * Central. Only what the build's repository lacks comes from Central, into the test's repository: at
 * most maven-archetype-plugin, which the reactor itself does not use. The build's own local repository
 * is never written.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PluginArchetypeIT {
    private static final String VERSION = System.getProperty("fdrestore.version", "0.1.0-SNAPSHOT");

    /** The reactor's artifacts an outside plugin build needs: artifactId, pom, jar (null for a pom). */
    private static final String[][] STAGED = {
        {"fdrestore-parent", "pom.xml", null},
        {"fdrestore-plugins", "plugins/pom.xml", null},
        {"fdrestore-plugin-parent", "plugin-parent/pom.xml", null},
        {"fdrestore-api", "restore-api/pom.xml", "restore-api/target/fdrestore-api-" + VERSION + ".jar"},
        {"restore-core", "restore-core/pom.xml", "restore-core/target/restore-core-" + VERSION + ".jar"},
        {"plugin-testkit", "plugins/testkit/pom.xml", "plugins/testkit/target/plugin-testkit-" + VERSION + ".jar"},
        {"fdrestore-plugin-archetype", "plugin-archetype/pom.xml",
            "plugin-archetype/target/fdrestore-plugin-archetype-" + VERSION + ".jar"},
    };

    record Run(int code, String out, String err) {
    }

    private static Run run(Path dir, Path log, List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path out = log.resolveSibling(log.getFileName() + ".out");
        pb.redirectOutput(out.toFile()).redirectError(log.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(280, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", cmd) + " did not end in 280 s; see " + log);
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(log));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private static Path stageRepository(Path work) throws IOException {
        Path checkout = Samples.root().toAbsolutePath().getParent();
        Path repo = Files.createDirectories(work.resolve("repo"));
        for (String[] a : STAGED) {
            Path dir = Files.createDirectories(repo.resolve("org/fdrestore").resolve(a[0]).resolve(VERSION));
            Files.copy(checkout.resolve(a[1]), dir.resolve(a[0] + "-" + VERSION + ".pom"),
                    StandardCopyOption.REPLACE_EXISTING);
            if (a[2] != null) {
                Path jar = checkout.resolve(a[2]);
                assertTrue(Files.isRegularFile(jar), jar + " is not built");
                Files.copy(jar, dir.resolve(a[0] + "-" + VERSION + ".jar"), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path installed = Path.of(System.getProperty("fdrestore.localRepository"));
        Files.writeString(work.resolve("settings.xml"), """
                <settings>
                  <localRepository>%1$s</localRepository>
                  <profiles>
                    <profile>
                      <id>installed</id>
                      <repositories>
                        <repository><id>installed</id><url>%2$s</url></repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>installed</id><url>%2$s</url></pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>installed</activeProfile></activeProfiles>
                </settings>
                """.formatted(repo, installed.toUri()));
        return work.resolve("settings.xml");
    }

    private static List<String> mvn(Path settings, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("maven.home"), "bin/mvn").toString(),
                "-B", "-s", settings.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Run fdrestore(Path dir, Path log, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore")
                .toString()));
        cmd.addAll(List.of(args));
        return run(dir, log, cmd);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aGeneratedPluginBuildsLoadsAndRestores(@TempDir Path tmp) throws Exception {
        Path work = Files.createDirectories(Path.of("target/plugin-kit-it").toAbsolutePath());
        Path settings = stageRepository(work);

        Run gen = run(tmp, work.resolve("generate.log"), mvn(settings,
                "org.apache.maven.plugins:maven-archetype-plugin:3.3.1:generate", "-DinteractiveMode=false",
                "-DarchetypeGroupId=org.fdrestore", "-DarchetypeArtifactId=fdrestore-plugin-archetype",
                "-DarchetypeVersion=" + VERSION, "-DgroupId=com.example", "-DartifactId=my-plugin",
                "-Dversion=1.0", "-Dpackage=com.example.myplugin", "-DkindName=counter"));
        assertEquals(0, gen.code, "archetype:generate failed:\n" + gen.out + gen.err);
        Path project = tmp.resolve("my-plugin");
        try (var sources = Files.walk(project.resolve("src"))) {
            for (Path src : sources.filter(f -> f.toString().endsWith(".java")).toList()) {
                assertFalse(Files.readString(src).contains("import fdrestore.core."),
                        src + ": a generated source uses only the API and the testkit, never core");
            }
        }

        Run build = run(project, work.resolve("build.log"), mvn(settings, "package"));
        assertEquals(0, build.code, "the generated project does not build:\n" + build.out + build.err);
        assertTrue(build.out.contains("Tests run: 6, Failures: 0, Errors: 0, Skipped: 0"),
                "surefire 3 runs the generated JUnit 5 tests:\n" + build.out);
        Path jar = project.resolve("target/my-plugin-1.0.jar");
        try (JarFile j = new JarFile(jar.toFile())) {
            Manifest m = j.getManifest();
            assertEquals("my-plugin", m.getMainAttributes().getValue("Plugin-Id"));
            assertEquals("EVENTFD", m.getMainAttributes().getValue("Plugin-Fd-Types"));
            assertTrue(j.getEntry("META-INF/extensions.idx") != null, "pf4j's extension index");
            assertTrue(j.getEntry("com/example/myplugin/proto/CounterSideEntry.class") != null,
                    "its schema, which imports fown.proto, was compiled");
        }
        Path plugins = Files.createDirectories(tmp.resolve("plugins"));
        Files.copy(jar, plugins.resolve(jar.getFileName()));

        Run only = fdrestore(tmp, work.resolve("plugins.log"), "plugins", "--plugins-only", plugins.toString());
        assertEquals(0, only.code, only.out + only.err);
        assertTrue(only.out.contains("my-plugin") && only.out.contains("STARTED") && only.out.contains("counter")
                && only.out.contains("EVENTFD"), only.out);
        Run added = fdrestore(tmp, work.resolve("plugins-added.log"), "plugins", "--plugins", plugins.toString());
        assertEquals(1, added.code, "beside the shipped eventfd plugin it claims EVENTFD twice: " + added.out + added.err);
        assertTrue(added.err.contains("two plugins claim fd type EVENTFD") && added.err.contains("my-plugin"), added.err);

        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        b.fd(1, 4, b.eventfd(Linux.O_RDWR | Linux.O_NONBLOCK, 42));
        Path images = b.write(tmp.resolve("images"));
        Run r = fdrestore(tmp, work.resolve("restore.log"), "restore", "--verify", "--then=kill", "--json",
                "--plugins-only", plugins.toString(), images.toString());
        assertEquals(0, r.code, r.out + r.err);
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
        assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out);
        for (Object o : (List<Object>) doc.get("tasks")) {
            int pid = ((Number) ((Map<String, Object>) o).get("pid")).intValue();
            assertFalse(Processes.running(pid), "task " + pid + " was stopped");
        }
    }
}
