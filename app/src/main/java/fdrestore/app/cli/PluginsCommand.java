package fdrestore.app.cli;

import fdrestore.api.spi.FileKind;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fdrestore plugins}: the file-kind plugins found, their state and the fd types they restore. */
@Command(name = "plugins", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Lists the file-kind plugins: those of the distribution's plugins/ and of each --plugins DIR",
            "(or only those of --plugins-only DIR): each plugin's id, version and state, and the fd types it",
            "restores. A jar that fails to load, or loads and contributes no kind, is listed with the reason."},
        footer = {"%nExamples:",
            "  fdrestore plugins",
            "  fdrestore plugins --plugins my-plugins/ --json",
            "  fdrestore plugins --plugins-only my-plugins/",
            "%nSee docs/PLUGINS.md to write one.",
            "%nExit codes: 0 every plugin started and gives a kind, 1 a jar failed to load, gives no kind, or two",
            "plugins claim one fd type (each named on stderr; --verbose prints the stack trace), 2 bad usage."})
public final class PluginsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Option(names = "--json", description = "Print a JSON document instead.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (PluginHost host = Cli.invocation(spec).plugins(pluginFolders.dirs())) {
            List<PluginHost.Loaded> plugins = host.plugins();
            List<FileKind> kinds = host.kinds();
            List<String> problems = host.problems();
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
                doc.put("dir", String.valueOf(host.dirs().isEmpty() ? null : host.dirs().get(0)));
                doc.put("dirs", host.dirs().stream().map(Path::toString).collect(Collectors.toList()));
                doc.put("plugins", ps);
                doc.put("problems", problems);
                out.println(Json.pretty(doc));
            } else {
                out.println("Plugin folders: " + (host.dirs().isEmpty() ? "(none: class path only)"
                        : host.dirs().stream().map(Path::toString).collect(Collectors.joining(", "))));
                for (PluginHost.Loaded p : plugins) {
                    out.printf("  %-14s %-16s %-8s %s%s%n", p.id(), p.version(), p.state(),
                            String.join(", ", p.kinds()), p.error() != null ? "  error: " + p.error() : "");
                }
                out.println(kinds.size() + " file kind" + (kinds.size() == 1 ? "" : "s") + " available.");
            }
            out.flush();
            for (String p : problems) {
                err.println("fdrestore: " + p);
            }
            err.flush();
            return problems.isEmpty() ? Cli.EXIT_OK : Cli.EXIT_FAILED;
        }
    }
}
