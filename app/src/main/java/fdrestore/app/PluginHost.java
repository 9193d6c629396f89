package fdrestore.app;

import fdrestore.api.spi.FileKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pf4j.DefaultPluginManager;
import org.pf4j.PluginManager;
import org.pf4j.PluginState;
import org.pf4j.PluginWrapper;

/**
 * Loads the file-kind plugins: the jars in the distribution's plugins/ folder (or {@code --plugins DIR}),
 * plus any FileKind extension found on the class path. A plugin that fails to load is reported and the
 * others still load.
 */
public final class PluginHost implements AutoCloseable {
    private final PluginManager manager;
    private final Path dir;
    /** Whether {@link #close} unloads the plugins: false for a server's shared host ({@link #borrowed}). */
    private final boolean owned;

    /** One loaded (or failed) plugin. */
    public record Loaded(String id, String version, String state, String description, List<String> kinds, String error) {
    }

    private PluginHost(Path dir) {
        this.dir = dir;
        this.manager = dir != null && Files.isDirectory(dir) ? new DefaultPluginManager(dir) : new DefaultPluginManager();
        this.owned = true;
    }

    private PluginHost(PluginHost shared) {
        this.dir = shared.dir;
        this.manager = shared.manager;
        this.owned = false;
    }

    /** A view of this host whose {@link #close} leaves the plugins loaded (a server lends its host to each command). */
    public PluginHost borrowed() {
        return new PluginHost(this);
    }

    /**
     * What the plugins folder holds: each jar's name, size and modification time. A server reloads its
     * shared host when this changes, so that a plugin dropped in, removed or updated is seen.
     */
    public static String signature(Path dir) {
        if (dir == null || !Files.isDirectory(dir)) {
            return String.valueOf(dir);
        }
        StringBuilder sb = new StringBuilder(dir.toAbsolutePath().toString());
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                        java.nio.file.attribute.BasicFileAttributes.class);
                sb.append('|').append(p.getFileName()).append(':').append(a.size()).append(':')
                        .append(a.lastModifiedTime().toMillis());
            }
        } catch (java.io.IOException e) {
            sb.append("|unreadable:").append(e.getMessage());
        }
        return sb.toString();
    }

    /** The plugins folder: --plugins, else $fdrestore.home/plugins, else none (class path only). */
    public static Path defaultDir() {
        String home = System.getProperty("fdrestore.home");
        return home == null ? null : Path.of(home, "plugins");
    }

    public static PluginHost load(Path dir) {
        PluginHost h = new PluginHost(dir);
        if (dir != null && Files.isDirectory(dir)) {
            h.manager.loadPlugins();
            h.manager.startPlugins();
        }
        return h;
    }

    public Path dir() {
        return dir;
    }

    /** Every FileKind of started plugins and of the class path. */
    public List<FileKind> kinds() {
        return manager.getExtensions(FileKind.class);
    }

    /** Each plugin with its state and the kinds it provides. */
    public List<Loaded> plugins() {
        List<Loaded> out = new ArrayList<>();
        for (PluginWrapper w : manager.getPlugins()) {
            List<String> kinds = new ArrayList<>();
            String error = null;
            if (w.getPluginState() == PluginState.STARTED) {
                for (FileKind k : manager.getExtensions(FileKind.class, w.getPluginId())) {
                    kinds.add(k.name() + " " + k.fdTypes());
                }
            } else if (w.getFailedException() != null) {
                error = String.valueOf(w.getFailedException().getMessage());
            }
            out.add(new Loaded(w.getPluginId(), w.getDescriptor().getVersion(), w.getPluginState().toString(),
                    w.getDescriptor().getPluginDescription(), kinds, error));
        }
        return out;
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
