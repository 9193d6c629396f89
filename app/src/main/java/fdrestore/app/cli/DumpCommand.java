package fdrestore.app.cli;

import fdrestore.api.spi.DumpException;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
import fdrestore.core.dump.DumpResult;
import fdrestore.core.dump.Dumper;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fdrestore dump -t PID -D DIR}: captures the fd tables of a live process tree into CRIU images. */
@Command(name = "dump", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Captures the fd tables of a live process tree (PID and every descendant) into a CRIU-format",
            "image set that `fdrestore show` and `fdrestore restore` read and criu's readers decode: the tree",
            "(pid, parent, group, session, threads), every fd with its flags, the open file descriptions and who",
            "shares them (kcmp), and each kind's state through its plugin: regular files (position, flags, a",
            "deleted file's content), pipes and fifos (queued data, copied without consuming it), unix sockets,",
            "terminals, epoll, timerfd, eventfd, signalfd, fanotify groups (flags and marks), pidfds, TCP (listeners, and connections read in repair",
            "mode), UDP, ICMP and raw sockets, netlink and packet sockets (sock_diag, in fdrestore's own network",
            "namespace) and memfds (contents and seals), and file locks and leases (filelocks.img: POSIX, flock, OFD,",
            "lease). The command line, environment and cwd of each task go to fdrestore's",
            "own fdr-task.img (none for a task restored by fdrestore that runs its holder, since a restore of",
            "these images holds its fds again). The tree keeps running unless --freeze is given.",
            "The images are written to a temporary directory and renamed to DIR at the end: a failed dump",
            "leaves nothing under DIR."},
        footer = {"%nExamples:",
            "  fdrestore dump -t 4242 -D /tmp/service.img --freeze",
            "  fdrestore dump -t 4242 -D /tmp/out --skip-unknown --json | jq .skipped",
            "%nExit codes: 0 dumped; 1 the dump failed (nothing was written); 2 bad usage.",
            "%nFor criu users: -t/--tree, -D/--images-dir, -o FILE (the log file) and -v0 to -v4 are criu's."})
public final class DumpCommand implements Callable<Integer>, Cli.CriuLogFile {
    @Spec
    CommandSpec spec;

    @Option(names = {"-t", "--tree"}, paramLabel = "PID", required = true, description = "The root of the tree to dump.")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Where to write the images: a new or empty directory.")
    Path dir;

    @Option(names = "-o", paramLabel = "FILE", description = "criu's spelling of --log-file FILE.")
    Path criuLogFile;

    @Override
    public Path criuLogFile() {
        return criuLogFile;
    }

    @Option(names = "--json", description = "Print a JSON report on stdout: tasks, files per kind, skipped fds, notes.")
    boolean json;

    @Option(names = "--freeze", description = "Hold every thread still while the tree is dumped (PTRACE_SEIZE and "
            + "PTRACE_INTERRUPT, as criu does: no SIGCHLD reaches a parent, nothing sees a stop), and resume it at "
            + "the end, whatever happens, even if fdrestore is killed; tasks that were stopped before stay stopped. "
            + "As under criu, a call that is never restarted after a stop (epoll_wait, for one) returns EINTR. "
            + "A tree alone in a cgroup v2 of its own is frozen with the cgroup freezer instead (thawed at the end, "
            + "by a watchdog if fdrestore is killed, by fdrestore cleanup if the watchdog is killed too); "
            + "-v says which freezer was used.")
    boolean freeze;

    @Option(names = "--skip-unknown", description = "Leave out the files no plugin can dump (and states the images "
            + "cannot express, such as TCP connections in syn-sent or syn-recv), and list them in the report, instead of failing.")
    boolean skipUnknown;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (Files.exists(dir) && (!Files.isDirectory(dir) || !empty(dir))) {
            throw new Cli.UsageException("-D " + dir + ": " + (Files.isDirectory(dir) ? "exists and is not empty"
                    : "exists and is not a directory") + "; a dump goes into a new or empty directory");
        }
        DumpResult r;
        java.util.Map<String, String> fdTypeOf = new java.util.HashMap<>();
        try (PluginHost host = PluginHost.load(pluginFolders.dirs())) {
            for (fdrestore.api.spi.FileKind k : host.kinds()) {
                fdTypeOf.put(k.name(), k.fdTypes().stream().map(Enum::name).sorted().collect(java.util.stream.Collectors.joining("|")));
            }
            r = new Dumper(host.kinds(), new Dumper.Options(pid, dir, freeze, skipUnknown))
                    .runDir(fdrestore.core.restore.RunJournal.base(Cli.invocation(spec).env())).run();
        } catch (DumpException e) {
            String msg = "dump of " + pid + " failed, nothing was written: " + e.getMessage();
            err.println("fdrestore: " + msg);
            err.flush();
            if (json) {
                out.println(Json.pretty(Cli.errorDocument("dump", Cli.EXIT_FAILED, msg, e)));
                out.flush();
            }
            return Cli.EXIT_FAILED;
        }
        if (json) {
            java.util.Map<String, Object> doc = Cli.document("dump");
            doc.putAll(r.toJson());
            // one vocabulary for kinds in every document: criu's fd type names (REG, PIPE ...), not plugin names
            java.util.Map<String, Object> perType = new java.util.TreeMap<>();
            r.filesPerKind().forEach((k, n) -> perType.merge(fdTypeOf.getOrDefault(k, k), n, (a, b) -> (Integer) a + (Integer) b));
            doc.put("filesPerKind", perType);
            out.println(Json.pretty(doc));
        } else {
            text(out, r);
        }
        out.flush();
        return Cli.EXIT_OK;
    }

    private static boolean empty(Path d) throws java.io.IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.findAny().isEmpty();
        }
    }

    private static void text(PrintWriter out, DumpResult r) {
        int fds = r.tasks().stream().mapToInt(DumpResult.TaskSummary::fds).sum();
        out.printf("Dumped %d task%s (%d fds, %d open files) of tree %d into %s in %.1f ms%s%n", r.tasks().size(),
                r.tasks().size() == 1 ? "" : "s", fds, r.files(), r.rootPid(), r.dir(), r.elapsedNs() / 1e6,
                r.freeze() ? " (frozen, then resumed)" : "");
        out.printf("  %-10s %-8s %-8s %-8s %5s  %s%n", "pid", "ppid", "pgid", "sid", "fds", "comm");
        for (DumpResult.TaskSummary t : r.tasks()) {
            out.printf("  %-10d %-8d %-8d %-8d %5d  %s%n", t.pid(), t.ppid(), t.pgid(), t.sid(), t.fds(), t.comm());
        }
        if (!r.filesPerKind().isEmpty()) {
            StringBuilder sb = new StringBuilder();
            r.filesPerKind().forEach((k, n) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(n));
            out.println("Open files by kind: " + sb);
        }
        if (!r.skipped().isEmpty()) {
            out.printf("Skipped %d fd(s) (--skip-unknown); a restore will not have them:%n", r.skipped().size());
            for (DumpResult.Skipped s : r.skipped()) {
                out.println("  - " + s);
            }
        }
        for (String n : r.notes()) {
            out.println("Note: " + n);
        }
    }
}
