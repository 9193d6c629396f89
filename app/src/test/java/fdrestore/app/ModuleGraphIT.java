package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Guards the module graph of the distribution's lib/ (the module path the launcher uses): it resolves,
 * every fdrestore module is a named (explicit) module, and the automatic modules are exactly the known
 * dependencies without a module-info. And the plugin boundary: every plugin the distribution ships reads
 * fdrestore.api and nothing else of fdrestore, and core exports nothing to plugins.
 */
class ModuleGraphIT {
    /** Dependencies that ship without module-info, as of the versions pinned in the parent POM. */
    private static final Set<String> AUTOMATIC_ALLOWED = Set.of(
            "org.jnrproject.ffi", "org.jnrproject.jffi", "org.jnrproject.jffi.nativelibs", "org.jnrproject.posix",
            "org.jnrproject.constants", "jnr.a64asm", "jnr.x86asm", "com.google.protobuf",
            "com.github.zafarkhaja.semver");

    static Path lib() {
        return Path.of(System.getProperty("fdrestore.dist")).resolve("lib");
    }

    @Test
    void distributionModulePathResolves() {
        ModuleFinder finder = ModuleFinder.of(lib());
        Set<String> all = finder.findAll().stream().map(r -> r.descriptor().name()).collect(Collectors.toSet());
        Configuration cf = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), all);
        Set<String> automatic = new TreeSet<>();
        for (ResolvedModule m : cf.modules()) {
            ModuleDescriptor d = m.reference().descriptor();
            if (d.isAutomatic()) {
                automatic.add(d.name());
            }
            if (d.name().startsWith("fdrestore.")) {
                assertFalse(d.isAutomatic(), d.name() + " must have a module-info");
            }
        }
        assertEquals(new TreeSet<>(AUTOMATIC_ALLOWED), automatic,
                "automatic modules changed: add a module-info-less dependency here only on purpose");
        assertTrue(all.containsAll(Set.of("fdrestore.api", "fdrestore.core", "fdrestore.transport", "fdrestore.app",
                "org.pf4j", "info.picocli")));
    }

    @Test
    void layeringIsCoreThenTransportThenApp() {
        ModuleFinder finder = ModuleFinder.of(lib());
        ModuleDescriptor core = finder.find("fdrestore.core").map(ModuleReference::descriptor).orElseThrow();
        Set<String> coreReads = core.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertFalse(coreReads.contains("fdrestore.transport"), "core must not depend on the transport");
        assertFalse(coreReads.contains("fdrestore.app"));
        assertFalse(coreReads.contains("info.picocli"), "core must not depend on the CLI");
        ModuleDescriptor transport = finder.find("fdrestore.transport").map(ModuleReference::descriptor).orElseThrow();
        assertTrue(transport.requires().stream().anyMatch(r -> r.name().equals("fdrestore.core")));
        assertFalse(transport.requires().stream().anyMatch(r -> r.name().equals("fdrestore.app")));
    }

    @Test
    void apiReadsNoOtherFdrestoreModuleAndCoreIsInternal() {
        ModuleFinder finder = ModuleFinder.of(lib());
        ModuleDescriptor api = finder.find("fdrestore.api").map(ModuleReference::descriptor).orElseThrow();
        for (ModuleDescriptor.Requires r : api.requires()) {
            assertFalse(r.name().startsWith("fdrestore."), "fdrestore.api must not read " + r.name());
        }
        ModuleDescriptor core = finder.find("fdrestore.core").map(ModuleReference::descriptor).orElseThrow();
        assertTrue(core.requires().stream().anyMatch(r -> r.name().equals("fdrestore.api")
                && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE)), "core requires transitive fdrestore.api");
        for (ModuleDescriptor.Exports e : core.exports()) {
            assertTrue(e.isQualified(), "fdrestore.core exports " + e.source() + " to everyone: core is internal,"
                    + " export it to the named modules that need it (plugins read fdrestore.api only)");
            assertFalse(e.targets().stream().anyMatch(t -> t.startsWith("fdrestore.plugin")),
                    "core exports " + e.source() + " to a plugin: " + e.targets());
        }
    }

    /** The modules a plugin may read: the API, and what the API itself exposes. */
    private static final Set<String> PLUGIN_MAY_READ = Set.of("fdrestore.api", "org.pf4j", "com.google.protobuf",
            "org.jnrproject.ffi", "org.slf4j");

    @Test
    void everyShippedPluginReadsOnlyTheApi() throws IOException {
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(lib().resolveSibling("plugins"), "*.jar")) {
            ds.forEach(jars::add);
        }
        assertTrue(jars.size() >= 14, "the distribution ships its plugins: " + jars);
        List<String> problems = new ArrayList<>();
        for (Path jar : jars) {
            problems.addAll(outsideTheApi(jar));
        }
        assertEquals(List.of(), problems, "plugins must compile against fdrestore-api only");
        assertTrue(jars.stream().anyMatch(j -> j.getFileName().toString().startsWith("plugin-signalfd-")),
                "the signalfd plugin (written as a third party would) is checked: " + jars);
    }

    /**
     * What a plugin jar uses outside the API: a module it requires that is not the API's, or a class file
     * naming a class of fdrestore.core/transport/app (the constant pool holds every class a class refers to).
     */
    static List<String> outsideTheApi(Path jar) throws IOException {
        List<String> problems = new ArrayList<>();
        try (JarFile jf = new JarFile(jar.toFile())) {
            JarEntry mi = jf.getJarEntry("module-info.class");
            if (mi == null) {
                problems.add(jar.getFileName() + ": no module-info.class");
            } else {
                try (InputStream in = jf.getInputStream(mi)) {
                    for (ModuleDescriptor.Requires r : ModuleDescriptor.read(in).requires()) {
                        if (!r.name().startsWith("java.") && !r.name().startsWith("jdk.") && !PLUGIN_MAY_READ.contains(r.name())) {
                            problems.add(jar.getFileName() + ": requires " + r.name());
                        }
                    }
                }
            }
            for (Enumeration<JarEntry> en = jf.entries(); en.hasMoreElements();) {
                JarEntry e = en.nextElement();
                if (!e.getName().endsWith(".class") || e.getName().equals("module-info.class")) {
                    continue;
                }
                String text;
                try (InputStream in = jf.getInputStream(e)) {
                    text = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                }
                for (String internal : List.of("fdrestore/core/", "fdrestore/transport/", "fdrestore/app/", "fdrestore/testkit/")) {
                    int at = text.indexOf(internal);
                    if (at >= 0) {
                        int end = at;
                        while (end < text.length() && (Character.isJavaIdentifierPart(text.charAt(end)) || text.charAt(end) == '/')) {
                            end++;
                        }
                        problems.add(jar.getFileName() + ": " + e.getName() + " uses " + text.substring(at, end));
                    }
                }
            }
        }
        return problems;
    }
}
