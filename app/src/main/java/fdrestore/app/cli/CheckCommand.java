package fdrestore.app.cli;

import fdrestore.api.sys.Features;
import fdrestore.app.Cli;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fdrestore check}: which kernel features a restore needs, and whether this machine has them. */
@Command(name = "check", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Probes the kernel features a restore needs: a private fd table per thread",
            "(unshare CLONE_FILES), kcmp, pidfd_getfd, /dev/ptmx, TIOCGPTPEER, sock_diag, openat2 and the",
            "RLIMIT_NOFILE limits. Exits 1 when a feature is missing."},
        footer = {"%nExamples:",
            "  fdrestore check",
            "  fdrestore check --json | jq '.features[] | select(.ok | not)'",
            "%nExit codes: 0 every feature is there, 1 a feature is missing, 2 bad usage."})
public final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON document: {\"ok\": bool, \"features\": [{name, ok, detail}]}.")
    boolean json;

    @Override
    public Integer call() {
        List<Features.Probe> probes = Features.probeAll();
        boolean ok = probes.stream().allMatch(Features.Probe::ok);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            List<Object> fs = new ArrayList<>();
            for (Features.Probe p : probes) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", p.name());
                m.put("ok", p.ok());
                m.put("detail", p.detail());
                fs.add(m);
            }
            Map<String, Object> doc = Cli.document("check");
            doc.put("ok", ok);
            doc.put("features", fs);
            out.println(Json.pretty(doc));
        } else {
            int w = probes.stream().mapToInt(p -> p.name().length()).max().orElse(10);
            for (Features.Probe p : probes) {
                out.printf("%-4s %-" + w + "s  %s%n", p.ok() ? "ok" : "MISSING", p.name(), p.detail());
            }
            out.println(ok ? "This machine can restore." : "Some features are missing: restores that need them will fail.");
        }
        out.flush();
        return ok ? Cli.EXIT_OK : Cli.EXIT_FAILED;
    }
}
