package fdrestore.app.cli;

import fdrestore.api.spi.FileKind;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fdrestore plugins}: the file-kind plugins found, their state and the fd types they restore. */
@Command(name = "plugins", mixinStandardHelpOptions = true,
        description = {"Lists the file-kind plugins in the plugins folder (the distribution's plugins/, or",
            "--plugins DIR): each plugin's id, version and state, and the fd types it restores."},
        footer = {"%nExamples:",
            "  fdrestore plugins",
            "  fdrestore plugins --plugins my-plugins/ --json",
            "%nA folder given with --plugins replaces the distribution's plugins/. See docs/PLUGINS.md to write one.",
            "%nExit codes: 0 every plugin started, 1 a plugin failed to load or start, or two plugins claim one",
            "fd type, 2 bad usage."})
public final class PluginsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--plugins", paramLabel = "DIR", description = "The plugins folder (default: the distribution's plugins/).")
    Path pluginsDir;

    @Option(names = "--json", description = "Print a JSON document instead.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (PluginHost host = Cli.invocation(spec).plugins(pluginsDir != null ? pluginsDir : PluginHost.defaultDir())) {
            List<PluginHost.Loaded> plugins = host.plugins();
            List<FileKind> kinds = host.kinds();
            fdrestore.core.restore.Restorer.byType(kinds); // two plugins claiming one type is an error
            boolean failed = plugins.stream().anyMatch(p -> p.error() != null || !"STARTED".equals(p.state()));
            if (json) {
                List<Object> ps = new ArrayList<>();
                for (PluginHost.Loaded p : plugins) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", p.id());
                    m.put("version", p.version());
                    m.put("state", p.state());
                    m.put("description", p.description());
                    m.put("kinds", p.kinds());
                    m.put("error", p.error());
                    ps.add(m);
                }
                Map<String, Object> doc = Cli.document("plugins");
                doc.put("dir", String.valueOf(host.dir()));
                doc.put("plugins", ps);
                out.println(Json.pretty(doc));
            } else {
                out.println("Plugins folder: " + (host.dir() != null ? host.dir() : "(none: class path only)"));
                for (PluginHost.Loaded p : plugins) {
                    out.printf("  %-14s %-16s %-8s %s%s%n", p.id(), p.version(), p.state(),
                            String.join(", ", p.kinds()), p.error() != null ? "  error: " + p.error() : "");
                }
                out.println(kinds.size() + " file kind" + (kinds.size() == 1 ? "" : "s") + " available.");
            }
            out.flush();
            return failed ? Cli.EXIT_FAILED : Cli.EXIT_OK;
        }
    }
}
