package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Guards the module graph of the distribution's lib/ (the module path the launcher uses): it resolves,
 * every fdrestore module is a named (explicit) module, and the automatic modules are exactly the known
 * dependencies without a module-info.
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
        assertTrue(all.containsAll(Set.of("fdrestore.core", "fdrestore.transport", "fdrestore.app", "org.pf4j", "info.picocli")));
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
}
