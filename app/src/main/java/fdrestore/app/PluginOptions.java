package fdrestore.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The plugin folders of a command (a picocli mixin): the distribution's plugins/ plus every
 * {@code --plugins DIR}, or, with {@code --plugins-only DIR}, those folders and not the distribution's.
 */
public final class PluginOptions {
    @Option(names = "--plugins", paramLabel = "DIR",
            description = "Also load the plugin jars of DIR, besides the distribution's plugins/ (repeatable).")
    List<Path> extra = new ArrayList<>();

    @Option(names = "--plugins-only", paramLabel = "DIR",
            description = "Load the plugin jars of DIR instead of the distribution's plugins/ (repeatable).")
    List<Path> only = new ArrayList<>();

    /** The folders to load, in order, each once; a folder given that does not exist is a usage error. */
    public List<Path> dirs() throws Cli.UsageException {
        Set<Path> dirs = new LinkedHashSet<>();
        if (only.isEmpty()) {
            Path home = PluginHost.defaultDir();
            if (home != null && Files.isDirectory(home)) {
                dirs.add(home.toAbsolutePath().normalize());
            }
        }
        for (Path d : only) {
            dirs.add(given("--plugins-only", d));
        }
        for (Path d : extra) {
            dirs.add(given("--plugins", d));
        }
        return List.copyOf(dirs);
    }

    private static Path given(String option, Path dir) throws Cli.UsageException {
        if (!Files.isDirectory(dir)) {
            throw new Cli.UsageException(option + " " + dir + ": no such directory");
        }
        return dir.toAbsolutePath().normalize();
    }
}
