package fdrestore.app;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.RestoreException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.pf4j.CompoundPluginDescriptorFinder;
import org.pf4j.DefaultPluginManager;
import org.pf4j.ManifestPluginDescriptorFinder;
import org.pf4j.PluginDescriptorFinder;
import org.pf4j.PluginState;
import org.pf4j.PluginWrapper;
import org.pf4j.PropertiesPluginDescriptorFinder;

/**
 * Loads the file-kind plugins: the jars of the plugin folders (the distribution's plugins/ and every
 * {@code --plugins DIR}), plus any FileKind extension found on the class path. A jar that fails to load,
 * or loads and contributes no kind, is kept with a one-line reason (its stack trace goes to the debug log)
 * and the others still load. A jar may declare the fd types it restores in its manifest
 * ({@code Plugin-Fd-Types: REG,FIFO}); a restore then loads only the jars whose types its images use.
 */
public final class PluginHost implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("fdrestore.plugins");
    /** The manifest entry naming the fd types a plugin jar restores (comma separated {@link FdType} names). */
    static final String FD_TYPES = "Plugin-Fd-Types";

    private final Manager manager;
    private final List<Path> dirs;
    /** Whether {@link #close} unloads the plugins: false for a server's shared host ({@link #borrowed}). */
    private final boolean owned;

    /** One loaded (or failed) plugin. */
    public record Loaded(String id, String version, String state, String description, List<String> kinds, String error,
            Path path) {
    }

    /** A jar that did not load, why in one line, and the exception (for --verbose). */
    record Failure(Path path, String reason, Throwable cause) {
    }

    /**
     * pf4j's manager, keeping each jar's load failure instead of logging a stack trace, and skipping jars.
     * Each jar's manifest is read once ({@link #manifestOf}) and serves the skip test, the packaging
     * check, the duplicate-id check and pf4j's descriptor: before, a cold restore opened each loaded jar
     * five times (three JarFiles, pf4j's properties look-up through a zip file system, its manifest read).
     */
    private static final class Manager extends DefaultPluginManager {
        final Map<Path, Failure> failures = new LinkedHashMap<>();
        final List<Path> skipped = new ArrayList<>();
        private final Set<FdType> types;
        private final Map<Path, java.util.Optional<Manifest>> manifests = new java.util.HashMap<>();

        /** {@code types}: the fd types used (null: all): a jar declaring only others is skipped. */
        Manager(List<Path> dirs, Set<FdType> types) {
            super(dirs);
            this.types = types;
        }

        /** The manifest of a plugin jar (empty for a folder or an unreadable jar), read once. */
        synchronized java.util.Optional<Manifest> manifestOf(Path path) {
            return manifests.computeIfAbsent(path, PluginHost::manifest);
        }

        /**
         * pf4j's descriptor finders, manifest first, from {@link #manifestOf}: every jar that gets this far
         * has Plugin-Id in its manifest ({@link #packagingProblem}); plugin.properties still serves a folder.
         * Called by pf4j's constructor, so it must not touch this class's fields until a find.
         */
        @Override
        protected PluginDescriptorFinder createPluginDescriptorFinder() {
            return new CompoundPluginDescriptorFinder().add(new ManifestPluginDescriptorFinder() {
                @Override
                protected Manifest readManifest(Path pluginPath) {
                    java.util.Optional<Manifest> m = Files.isRegularFile(pluginPath) ? manifestOf(pluginPath)
                            : java.util.Optional.empty();
                    return m.isPresent() ? m.get() : super.readManifest(pluginPath);
                }
            }).add(new PropertiesPluginDescriptorFinder());
        }

        @Override
        protected PluginWrapper loadPluginFromPath(Path path) {
            java.util.Optional<Manifest> manifest = manifestOf(path);
            if (types != null) {
                Set<FdType> declared = declaredTypes(manifest);
                if (declared != null && declared.stream().noneMatch(types::contains)) {
                    skipped.add(path);
                    return null;
                }
            }
            String problem = packagingProblem(path, manifest);
            String id = problem == null ? pluginId(manifest) : null;
            PluginWrapper same = id == null ? null : getPlugin(id);
            if (same != null) {
                problem = "plugin id " + id + " is already loaded from " + same.getPluginPath()
                        + " (two copies of one plugin? keep one)";
            }
            if (problem != null) {
                failures.put(path, new Failure(path, problem, null));
                return null;
            }
            try {
                return super.loadPluginFromPath(path);
            } catch (RuntimeException | LinkageError e) {
                failures.put(path, new Failure(path, oneLine(e), e));
                LOG.log(System.Logger.Level.INFO, "plugin " + path + " did not load", e);
                return null;
            }
        }
    }

    private PluginHost(List<Path> dirs, Set<FdType> types) {
        this.dirs = dirs == null ? List.of() : List.copyOf(dirs);
        this.manager = new Manager(this.dirs, types);
        this.owned = true;
    }

    private PluginHost(PluginHost shared) {
        this.dirs = shared.dirs;
        this.manager = shared.manager;
        this.owned = false;
    }

    /** A view of this host whose {@link #close} leaves the plugins loaded (a server lends its host to each command). */
    public PluginHost borrowed() {
        return new PluginHost(this);
    }

    /**
     * What the plugin folders hold: each jar's name, size and modification time. A server reloads its
     * shared host when this changes, so that a plugin dropped in, removed or updated is seen.
     */
    public static String signature(List<Path> dirs) {
        StringBuilder sb = new StringBuilder();
        for (Path dir : dirs) {
            sb.append(dir.toAbsolutePath());
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (java.util.stream.Stream<Path> s = Files.list(dir)) {
                for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                    java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                            java.nio.file.attribute.BasicFileAttributes.class);
                    sb.append('|').append(p.getFileName()).append(':').append(a.size()).append(':')
                            .append(a.lastModifiedTime().toMillis());
                }
            } catch (IOException e) {
                sb.append("|unreadable:").append(e.getMessage());
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The distribution's plugins folder ($fdrestore.home/plugins), or null (class path only). */
    static Path defaultDir() {
        String home = System.getProperty("fdrestore.home");
        return home == null ? null : Path.of(home, "plugins");
    }

    /** Every plugin jar of {@code dirs} (null: none, the class path only), loaded and started. */
    public static PluginHost load(List<Path> dirs) {
        return load(dirs, null);
    }

    /**
     * The plugin jars of {@code dirs} that may restore one of {@code types} (null: all): a jar whose manifest
     * declares its fd types ({@value #FD_TYPES}) and none of them is used is not even opened by pf4j.
     */
    public static PluginHost load(List<Path> dirs, Set<FdType> types) {
        PluginHost h = new PluginHost(dirs, types);
        if (!h.dirs.isEmpty()) {
            h.manager.loadPlugins();
            h.manager.startPlugins();
            for (PluginWrapper w : h.manager.getPlugins()) {
                if (w.getFailedException() != null) {
                    LOG.log(System.Logger.Level.INFO, "plugin " + w.getPluginPath() + " did not start", w.getFailedException());
                }
            }
        }
        return h;
    }

    /** The fd types an image set uses: of every open file in files.img and of every fd. */
    public static Set<FdType> typesUsed(ImageSet images) {
        Set<FdType> out = EnumSet.noneOf(FdType.class);
        for (FileEntry e : images.files().values()) {
            FdType t = FdType.of(e.getType());
            if (t != null) {
                out.add(t);
            }
        }
        for (ImageSet.Task t : images.tasks()) {
            for (ImageSet.Fd fd : t.fds()) {
                if (fd.type() != null) {
                    out.add(fd.type());
                }
            }
        }
        return out;
    }

    /**
     * Refuses, before any plan, a restore that needs a kind only a jar that failed to load could give:
     * names the fd types and each such jar with its reason. Without such a jar, planning names what is missing.
     */
    public void requireKinds(Set<FdType> used) throws RestoreException {
        Set<FdType> missing = EnumSet.copyOf(used.isEmpty() ? EnumSet.noneOf(FdType.class) : used);
        missing.remove(FdType.UND);
        for (FileKind k : kinds()) {
            missing.removeAll(k.fdTypes());
        }
        String why = missing.isEmpty() ? null : whyMissing(missing);
        if (why != null) {
            throw new RestoreException("no plugin restores " + missing.stream().map(Enum::name)
                    .collect(java.util.stream.Collectors.joining(", ")) + " (used by the images); the plugin jars that could"
                    + " have failed to load: " + why);
        }
    }

    public List<Path> dirs() {
        return dirs;
    }

    /** Every FileKind of started plugins and of the class path. */
    public List<FileKind> kinds() {
        return manager.getExtensions(FileKind.class);
    }

    /** Each plugin with its state and the kinds it provides, then each jar that failed to load. */
    public List<Loaded> plugins() {
        List<Loaded> out = new ArrayList<>();
        for (PluginWrapper w : manager.getPlugins()) {
            List<String> kinds = new ArrayList<>();
            String error = null;
            if (w.getPluginState() == PluginState.STARTED) {
                Set<FdType> types = EnumSet.noneOf(FdType.class);
                for (FileKind k : manager.getExtensions(FileKind.class, w.getPluginId())) {
                    kinds.add(k.name() + " " + k.fdTypes());
                    types.addAll(k.fdTypes());
                }
                Set<FdType> declared = declaredTypes(manager.manifestOf(w.getPluginPath()));
                if (kinds.isEmpty()) {
                    error = noKind(w.getPluginPath());
                } else if (declared != null && !declared.equals(types)) {
                    error = "its manifest's " + FD_TYPES + " " + declared + " is not what its kinds restore, " + types
                            + " (a restore would leave it out)";
                }
            } else if (w.getFailedException() != null) {
                error = oneLine(w.getFailedException());
            } else {
                error = "not started (" + w.getPluginState() + ")";
            }
            out.add(new Loaded(w.getPluginId(), w.getDescriptor().getVersion(), w.getPluginState().toString(),
                    w.getDescriptor().getPluginDescription(), kinds, error, w.getPluginPath()));
        }
        for (Failure f : manager.failures.values()) {
            out.add(new Loaded(f.path().getFileName().toString(), "-", "FAILED", null, List.of(), f.reason(), f.path()));
        }
        return out;
    }

    /** The exceptions behind failed jars and plugins, for --verbose. */
    List<Failure> failures() {
        List<Failure> out = new ArrayList<>(manager.failures.values());
        for (PluginWrapper w : manager.getPlugins()) {
            if (w.getFailedException() != null) {
                out.add(new Failure(w.getPluginPath(), oneLine(w.getFailedException()), w.getFailedException()));
            }
        }
        return out;
    }

    /** Jars left unopened because their declared fd types are not used. */
    public List<Path> skipped() {
        return List.copyOf(manager.skipped);
    }

    /**
     * One line per problem of the loaded set: a jar that failed or contributes no kind, and two kinds
     * claiming one fd type (naming both plugins). Empty when every plugin is usable.
     */
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        for (Loaded p : plugins()) {
            if (p.error() != null) {
                out.add(where(p.path()) + ": " + p.error());
            }
        }
        Map<FdType, FileKind> owner = new EnumMap<>(FdType.class);
        for (FileKind k : kinds()) {
            for (FdType t : k.fdTypes()) {
                FileKind prev = owner.putIfAbsent(t, k);
                if (prev != null && prev != k) {
                    out.add("two plugins claim fd type " + t + ": " + describe(prev) + " and " + describe(k));
                }
            }
        }
        return out;
    }

    /**
     * Why no kind restores {@code missing}: the jars that failed to load and could have (those declaring one
     * of the types, or declaring none), each with its reason; null when no failed jar could explain it.
     */
    String whyMissing(Collection<FdType> missing) {
        List<String> could = new ArrayList<>();
        for (Loaded p : plugins()) {
            if (p.error() == null || p.path() == null) {
                continue;
            }
            Set<FdType> declared = declaredTypes(manager.manifestOf(p.path()));
            if (declared == null || declared.stream().anyMatch(missing::contains)) {
                could.add(where(p.path()) + " (" + p.error() + ")");
            }
        }
        return could.isEmpty() ? null : String.join("; ", could);
    }

    private String describe(FileKind k) {
        PluginWrapper w = manager.whichPlugin(k.getClass());
        return "'" + k.name() + "' of " + (w != null ? "plugin " + w.getPluginId() + " (" + where(w.getPluginPath()) + ")"
                : "the class path (" + k.getClass().getName() + ")");
    }

    private static String where(Path p) {
        return p == null ? "(class path)" : p.toString();
    }

    /**
     * The fd types a jar's manifest declares, or null when it declares none (or is not a readable jar:
     * pf4j then reports what is wrong with it).
     */
    private static Set<FdType> declaredTypes(java.util.Optional<Manifest> manifest) {
        String v = manifest.map(m -> m.getMainAttributes().getValue(FD_TYPES)).orElse(null);
        if (v == null || v.isBlank()) {
            return null;
        }
        Set<FdType> out = EnumSet.noneOf(FdType.class);
        for (String s : v.split("[,\\s]+")) {
            if (s.isEmpty()) {
                continue;
            }
            try {
                out.add(FdType.valueOf(s.trim()));
            } catch (IllegalArgumentException e) {
                return null; // a type this host does not know: load it, and let its kinds say what they restore
            }
        }
        return out;
    }

    private static java.util.Optional<Manifest> manifest(Path jar) {
        if (!Files.isRegularFile(jar)) {
            return java.util.Optional.empty();
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            return java.util.Optional.ofNullable(jf.getManifest());
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * What is wrong with a jar before pf4j sees it, in one line; null when nothing is. pf4j's own messages
     * for these (a stack trace, or a plugin "STARTED" with nothing in it) do not say what to fix.
     * {@code manifest} is the jar's, already read (empty: none, or not readable).
     */
    private static String packagingProblem(Path path, java.util.Optional<Manifest> manifest) {
        if (!Files.isRegularFile(path) || !path.getFileName().toString().endsWith(".jar")) {
            return null; // a plugin folder (pf4j's unpacked layout): pf4j reads it
        }
        if (manifest.isEmpty()) {
            try (JarFile jf = new JarFile(path.toFile())) {
                jf.getManifest();
            } catch (IOException e) {
                return "not a readable jar: " + e.getMessage();
            }
        }
        Attributes a = manifest.map(Manifest::getMainAttributes).orElse(null);
        if (a == null || a.getValue("Plugin-Id") == null || a.getValue("Plugin-Id").isBlank()) {
            return "not a plugin: its manifest has no Plugin-Id (set the jar plugin's manifestEntries: Plugin-Id,"
                    + " Plugin-Version; the plugin parent POM does)";
        }
        if (a.getValue("Plugin-Version") == null || a.getValue("Plugin-Version").isBlank()) {
            return "plugin " + a.getValue("Plugin-Id") + ": its manifest has no Plugin-Version";
        }
        return null;
    }

    private static String pluginId(java.util.Optional<Manifest> manifest) {
        return manifest.map(m -> m.getMainAttributes().getValue("Plugin-Id")).map(String::trim).orElse(null);
    }

    /** A started plugin with no FileKind: say why, from what its jar holds. */
    private static String noKind(Path path) {
        if (path != null && Files.isRegularFile(path)) {
            try (JarFile jf = new JarFile(path.toFile())) {
                if (jf.getEntry("META-INF/extensions.idx") == null) {
                    return "contributes no file kind: the jar has no META-INF/extensions.idx (run pf4j's annotation"
                            + " processor when compiling: the plugin parent POM does)";
                }
            } catch (IOException e) {
                return "contributes no file kind: " + e.getMessage();
            }
        }
        return "contributes no file kind: no @Extension class implementing FileKind could be loaded"
                + " (--verbose logs why)";
    }

    static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (root != e) {
            m += ": " + (root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName());
        }
        return m.replace('\n', ' ');
    }

    @Override
    public void close() {
        if (!owned) {
            return;
        }
        manager.stopPlugins();
        manager.unloadPlugins();
    }
}
