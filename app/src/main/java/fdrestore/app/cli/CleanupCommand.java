package fdrestore.app.cli;

import fdrestore.app.Cli;
import fdrestore.core.json.Json;
import fdrestore.core.restore.RunJournal;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fdrestore cleanup}: removes what a restore whose fdrestore died (SIGKILL, a crash, power loss)
 * left on disk, and thaws a cgroup a dead dump left frozen, from the journal each kept in the run
 * directory. Every restore runs it first.
 */
@Command(name = "cleanup", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Removes what restores whose fdrestore died left on disk: socket files bound under",
            "--root, ghost files, names linked for remaps and directories made for deleted socket names.",
            "Each restore records them in its journal (in the run directory) before it makes them; a restore",
            "that ends, either way, drops its journal. Only dead runs are cleaned, only what their journal",
            "names, and only an entry that is still of the recorded type and inode: a socket file only once no",
            "socket is bound to it, a directory only while empty. Empty tree cgroups of dead fdrestore",
            "processes go too, and a cgroup that dump --freeze froze is thawed when its fdrestore and its",
            "watchdog both died. Every restore runs this first."},
        footer = {"%nExamples:",
            "  fdrestore cleanup",
            "  fdrestore cleanup --json",
            "%nExit codes: 0 nothing was left or everything left was removed, 1 something was kept (listed)."})
public final class CleanupCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "The run directory (default: FDRESTORE_RUN_DIR, else /run/fdrestore/runs for root, else "
                    + "$XDG_RUNTIME_DIR/fdrestore/runs or /tmp/fdrestore-UID/runs).")
    Path runDir;

    @Option(names = "--json", description = "Print a JSON document: {\"removed\": [...], \"kept\": [...]}.")
    boolean json;

    @Override
    public Integer call() {
        Path base = runDir != null ? runDir : RunJournal.base(Cli.invocation(spec).env());
        List<RunJournal.Cleaned> done = RunJournal.cleanup(base);
        List<String> removed = done.stream().filter(RunJournal.Cleaned::removed).map(RunJournal.Cleaned::line).toList();
        List<String> kept = done.stream().filter(c -> !c.removed()).map(RunJournal.Cleaned::line).toList();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> doc = Cli.document("cleanup");
            doc.put("runDir", base.toString());
            doc.put("removed", removed);
            doc.put("kept", kept);
            out.println(Json.pretty(doc));
        } else {
            done.forEach(out::println);
            out.println(done.isEmpty() ? "Nothing left behind by a dead run."
                    : removed.size() + " removed, " + kept.size() + " kept.");
        }
        out.flush();
        return kept.isEmpty() ? Cli.EXIT_OK : Cli.EXIT_FAILED;
    }
}
