package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.spi.RestoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading plugin jars: each packaging mistake an outsider makes is named in one line by
 * {@code fdrestore plugins}, which then exits 1 (and prints no stack trace without --verbose); --plugins
 * adds folders; a jar declaring its fd types is left unopened by a restore whose images do not use them.
 * The jars are the eventfd plugin's (not on the app's class path), rewritten.
 */
class PluginLoadingTest {
    @TempDir
    static Path tmp;

    static Path eventfd;

    @BeforeAll
    static void eventfdJar() {
        eventfd = EventfdPluginTest.eventfdJar().orElseThrow(() -> new AssertionError(
                "the eventfd plugin's jar is not built (mvn -pl plugins/eventfd package)"));
    }

    /** A folder holding the eventfd jar rewritten: its manifest by {@code manifest}, minus {@code drop}, plus {@code add}. */
    static Path folder(String name, UnaryOperator<Manifest> manifest, String drop, String addName, String addText)
            throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Path out = dir.resolve(name + ".jar");
        try (JarFile in = new JarFile(eventfd.toFile());
                OutputStream os = Files.newOutputStream(out);
                JarOutputStream jar = new JarOutputStream(os, manifest.apply(new Manifest(in.getManifest())))) {
            for (JarEntry e : (Iterable<JarEntry>) in.stream()::iterator) {
                if (e.getName().equals(JarFile.MANIFEST_NAME) || e.getName().equals(drop)
                        || e.getName().equals(addName)) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(e.getName()));
                try (InputStream is = in.getInputStream(e)) {
                    is.transferTo(jar);
                }
                jar.closeEntry();
            }
            if (addName != null) {
                jar.putNextEntry(new JarEntry(addName));
                jar.write(addText.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                jar.closeEntry();
            }
        }
        return dir;
    }

    static UnaryOperator<Manifest> set(String key, String value) {
        return m -> {
            if (value == null) {
                m.getMainAttributes().remove(new Attributes.Name(key));
            } else {
                m.getMainAttributes().putValue(key, value);
            }
            return m;
        };
    }

    static CliRunner plugins(Path... dirs) {
        List<String> args = new java.util.ArrayList<>(List.of("plugins"));
        for (Path d : dirs) {
            args.add("--plugins");
            args.add(d.toString());
        }
        return CliRunner.run(args.toArray(String[]::new));
    }

    static void failsWith(CliRunner r, String jar, String reason) {
        assertEquals(Cli.EXIT_FAILED, r.code, r.toString());
        List<String> lines = r.err.lines().filter(l -> l.startsWith("fdrestore: ")).toList();
        assertEquals(1, lines.size(), "one line on stderr: " + r);
        assertTrue(lines.get(0).contains(jar) && lines.get(0).contains(reason), "names " + jar + " and " + reason + ": " + r);
        assertFalse(r.err.contains("\tat "), "no stack trace without --verbose: " + r);
    }

    @Test
    void aGoodJarLoadsAndExitsZero() throws IOException {
        CliRunner r = plugins(folder("good", m -> m, null, null, null));
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.contains("eventfd [EVENTFD]"), r.toString());
    }

    @Test
    void aJarWithoutExtensionsIndexIsNamed() throws IOException {
        failsWith(plugins(folder("noidx", m -> m, "META-INF/extensions.idx", null, null)),
                "noidx.jar", "contributes no file kind: the jar has no META-INF/extensions.idx");
    }

    @Test
    void aJarWithoutPluginIdIsNamedWithoutStackTrace() throws IOException {
        failsWith(plugins(folder("noid", set("Plugin-Id", null), null, null, null)),
                "noid.jar", "its manifest has no Plugin-Id");
    }

    @Test
    void aJarWhoseExtensionClassIsMissingIsNamed() throws IOException {
        failsWith(plugins(folder("badclass", m -> m, null, "META-INF/extensions.idx", "fdrestore.plugin.eventfd.Gone\n")),
                "badclass.jar", "no @Extension class implementing FileKind could be loaded");
    }

    @Test
    void twoPluginsClaimingOneTypeAreBothNamed() throws IOException {
        CliRunner r = plugins(folder("one", m -> m, null, null, null), folder("two", set("Plugin-Id", "eventfd-two"), null, null, null));
        failsWith(r, "two.jar", "two plugins claim fd type EVENTFD");
        assertTrue(r.err.contains("one.jar") && r.err.contains("plugin eventfd-two") && r.err.contains("plugin eventfd "), r.toString());
    }

    @Test
    void aJarDeclaringOtherFdTypesThanItsKindsIsNamed() throws IOException {
        failsWith(plugins(folder("declared", set(PluginHost.FD_TYPES, "TIMERFD"), null, null, null)),
                "declared.jar", "Plugin-Fd-Types [TIMERFD] is not what its kinds restore, [EVENTFD]");
    }

    @Test
    void pluginsAddsFoldersAndPluginsOnlyReplacesTheDistributions() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home/plugins")).getParent();
        Path extra = Files.createDirectories(tmp.resolve("extra"));
        String before = System.getProperty("fdrestore.home");
        System.setProperty("fdrestore.home", home.toString());
        try {
            PluginOptions o = new PluginOptions();
            o.extra = List.of(extra, extra);
            assertEquals(List.of(home.resolve("plugins"), extra), o.dirs());
            o.only = List.of(extra);
            o.extra = List.of();
            assertEquals(List.of(extra), o.dirs());
            o.only = List.of(tmp.resolve("missing"));
            Cli.UsageException e = assertThrows(Cli.UsageException.class, o::dirs);
            assertEquals("--plugins-only " + tmp.resolve("missing") + ": no such directory", e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("fdrestore.home");
            } else {
                System.setProperty("fdrestore.home", before);
            }
        }
    }

    @Test
    void aRestoreOpensOnlyTheJarsOfTheFdTypesItsImagesUse() throws IOException {
        Path dir = folder("lazy", m -> m, null, null, null);
        try (PluginHost host = PluginHost.load(List.of(dir), Set.of(FdType.PIPE))) {
            assertEquals(List.of(dir.resolve("lazy.jar")), host.skipped());
            assertTrue(host.plugins().isEmpty(), host.plugins().toString());
        }
        try (PluginHost host = PluginHost.load(List.of(dir), Set.of(FdType.PIPE, FdType.EVENTFD))) {
            assertEquals(List.of(), host.skipped());
            assertTrue(host.kinds().stream().anyMatch(k -> k.fdTypes().contains(FdType.EVENTFD)), host.plugins().toString());
        }
    }

    @Test
    void aRestoreNeedingAKindOfAFailedJarNamesIt() throws Exception {
        Path dir = folder("needed", set("Plugin-Id", null), null, null, null);
        try (PluginHost host = PluginHost.load(List.of(dir), Set.of(FdType.EVENTFD))) {
            RestoreException e = assertThrows(RestoreException.class, () -> host.requireKinds(Set.of(FdType.EVENTFD)));
            assertTrue(e.getMessage().startsWith("no plugin restores EVENTFD (used by the images)"), e.getMessage());
            assertTrue(e.getMessage().contains("needed.jar (not a plugin: its manifest has no Plugin-Id"), e.getMessage());
            host.requireKinds(Set.of(FdType.PIPE)); // a type the failed jar does not declare: planning names it
        }
    }
}
