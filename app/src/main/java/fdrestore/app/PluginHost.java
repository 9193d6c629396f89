package fdrestore.app;

import fdrestore.core.spi.FileKind;
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
final class PluginHost implements AutoCloseable {
    private final PluginManager manager;
    private final Path dir;

    /** One loaded (or failed) plugin. */
    record Loaded(String id, String version, String state, String description, List<String> kinds, String error) {
    }

    private PluginHost(Path dir) {
        this.dir = dir;
        this.manager = dir != null && Files.isDirectory(dir) ? new DefaultPluginManager(dir) : new DefaultPluginManager();
    }

    /** The plugins folder: --plugins, else $fdrestore.home/plugins, else none (class path only). */
    static Path defaultDir() {
        String home = System.getProperty("fdrestore.home");
        return home == null ? null : Path.of(home, "plugins");
    }

    static PluginHost load(Path dir) {
        PluginHost h = new PluginHost(dir);
        if (dir != null && Files.isDirectory(dir)) {
            h.manager.loadPlugins();
            h.manager.startPlugins();
        }
        return h;
    }

    Path dir() {
        return dir;
    }

    /** Every FileKind of started plugins and of the class path. */
    List<FileKind> kinds() {
        return manager.getExtensions(FileKind.class);
    }

    /** Each plugin with its state and the kinds it provides. */
    List<Loaded> plugins() {
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
        manager.stopPlugins();
        manager.unloadPlugins();
    }
}
