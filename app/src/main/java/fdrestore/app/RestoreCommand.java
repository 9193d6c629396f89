package fdrestore.app;

import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.ImageSet;
import fdrestore.core.image.ImageSet.Task;
import fdrestore.core.json.Json;
import fdrestore.core.restore.Holder;
import fdrestore.core.restore.Processes;
import fdrestore.core.restore.Restorer;
import fdrestore.core.restore.Verifier;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
import fdrestore.transport.ScmTransport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code fdrestore restore DIR}: rebuilds the tasks of an image set with every fd at its number. */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Restores the fd tables of the tasks in an image set: every fd at its exact number, files",
            "shared between tasks restored once and handed to the others (one open file description), pipe",
            "and fifo data, positions and flags. Each task then becomes a process: it runs its command from",
            "the fdrestore task image, or a holder that keeps its fds until it is signalled.",
            "Prints the mapping from image pid to real pid."},
        footer = {"%nExamples:",
            "  fdrestore restore --root images-samples/criu-4.2/a_pipe/root --verify \\",
            "      --then=kill images-samples/criu-4.2/a_pipe",
            "  fdrestore restore --detach --json DIR > pids.json",
            "  fdrestore restore --log-file restore.log -v --then=kill DIR",
            "%nExit codes: 0 restored (and verified), 1 the restore or the verification failed (nothing is left",
            "behind), 2 bad usage or images that cannot be read.",
            "%nThe restored processes form the image's tree (parents, process groups, sessions, controlling",
            "terminals); only the root task's parent, outside the images, is fdrestore."})
final class RestoreCommand implements Callable<Integer> {
    private static final System.Logger LOG = Log.of(RestoreCommand.class);

    enum Then { wait, detach, kill }

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "The image directory (written by criu dump or fdrestore dump).")
    Path dir;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Resolve the paths of the images under DIR (default: ${DEFAULT-VALUE}).")
    Path root;

    @Option(names = "--then", paramLabel = "WHAT", defaultValue = "wait",
            description = "After the restore (and --verify): wait for the tasks and forward SIGINT/SIGTERM to them (wait), "
                    + "leave them running and exit (detach), or stop them and exit (kill). Default: ${DEFAULT-VALUE}.")
    Then then;

    @Option(names = "--detach", description = "Same as --then=detach.")
    boolean detach;

    @Option(names = "--hold", description = "Run the holder in every task, even when the images record a command.")
    boolean hold;

    @Option(names = "--verify", description = "Check the restored processes against the images through /proc and kcmp; "
            + "a mismatch exits 1 with a readable diff.")
    boolean verify;

    @Option(names = "--json", description = "Print a JSON document on stdout: tasks (imagePid, pid), timings, verify.")
    boolean json;

    @Option(names = "--plugins", paramLabel = "DIR", description = "The plugins folder (default: the distribution's plugins/).")
    Path pluginsDir;

    @Option(names = "--progress", negatable = true,
            description = "Show (or never show) a progress line on stderr. Default: shown for restores of at least "
                    + ProgressDisplay.MIN_TASKS + " tasks or " + ProgressDisplay.MIN_FDS + " fds, when stderr is a terminal, "
                    + "without --json and outside CI (environment variable CI).")
    Boolean progress;

    @Option(names = {"-o", "--option"}, paramLabel = "KEY=VALUE", description = "A plugin option (repeatable).")
    Map<String, String> pluginOptions = new HashMap<>();

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", hidden = true,
            description = "Engine threads (0: twice the cores).")
    int workers;

    @Option(names = "--pty-any-index", description = "When a pty's index is taken on this host, restore it on any "
            + "free index, with its slaves and controlling terminal following (the tty plugin's pty-any-index option). "
            + "By default a taken index fails the restore, naming the process that holds it.")
    boolean ptyAnyIndex;

    @Option(names = "--allow-devices", description = "Also restore device nodes other than the harmless host "
            + "character devices (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty): refused by default.")
    boolean allowDevices;

    @Option(names = "--inject-fault", paramLabel = "SYSCALL:N[:ERRNO][@PID]", hidden = true,
            description = "Hardening tests (docs/HARDENING.md): the N-th call of SYSCALL (a TaskTable method name; "
                    + "'spawn' kills the N-th process created) fails with ERRNO (default EIO), counted over every task "
                    + "or over task PID. Repeatable.")
    List<String> injectFaults = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        if (detach) {
            then = Then.detach;
        }
        if (!Files.isDirectory(root)) {
            throw new Cli.UsageException("--root " + root + ": no such directory");
        }
        // The native bindings load on another core while the images are read, checked and planned.
        fdrestore.core.runtime.TaskRuntime.warmUpInBackground();
        ImageSet images = ImageSet.open(dir);
        PrintWriter out = spec.commandLine().getOut();
        int fdCount = images.tasks().stream().mapToInt(t -> t.fds().size()).sum();
        LOG.log(System.Logger.Level.INFO, () -> "image set " + dir + ": " + images.tasks().size() + " tasks, " + fdCount
                + " fds, " + images.sharers().size() + " open files; root " + root + ", then " + then);
        Invocation inv = Cli.invocation(spec);
        RestoreProgress progress = ProgressDisplay.create(inv, spec.commandLine().getErr(), this.progress, json,
                images.tasks().size(), fdCount);
        Restorer.Result result;
        Verifier.Report report;
        List<fdrestore.core.spi.FileKind> kinds;
        long restoredNs;
        try {
            try (PluginHost host = Cli.invocation(spec).plugins(pluginsDir != null ? pluginsDir : PluginHost.defaultDir())) {
                LOG.log(System.Logger.Level.DEBUG, () -> "plugins from " + host.dir() + ": " + host.plugins());
                Restorer.Options opts = new Restorer.Options(root.toAbsolutePath().normalize(), allPluginOptions(),
                        Holder.path(), hold, workers).withFaults(faultPlan())
                        .withWorkDir(inv.cwd() != null && Files.isDirectory(inv.cwd()) ? inv.cwd() : null);
                progress.totals(images.tasks().size(), fdCount);
                RestoreProgress shown = progress;
                result = new Restorer(images, host.kinds(), ScmTransport::create, opts)
                        .progress(new fdrestore.core.engine.Progress() {
                            @Override
                            public void phase(String name) {
                                shown.phase(name);
                            }

                            @Override
                            public void fdsRestored(int n) {
                                shown.fdsDone(n);
                            }

                            @Override
                            public void taskDone(int pid) {
                                shown.taskDone();
                            }

                            @Override
                            public void waiting(String what) {
                                shown.waiting(what);
                            }
                        }).run();
                kinds = host.kinds();
            } catch (RestoreException e) {
                // the full message (a stall's wait-for graph, for one) goes to the log as it is
                LOG.log(System.Logger.Level.DEBUG, "restore failed: " + e.getMessage(), e);
                throw new RestoreException("restore of " + dir + " failed, nothing was left behind: " + e.getMessage(), e);
            }
            restoredNs = System.nanoTime() - start;
            Restorer.Result r = result;
            LOG.log(System.Logger.Level.INFO, () -> String.format("restored %d tasks, %d fds: plan %.1f ms, tables %.1f ms, "
                    + "engine %.1f ms, processes %.1f ms", r.tasks().size(), r.fds(), r.planNs() / 1e6, r.tablesNs() / 1e6,
                    r.engineNs() / 1e6, r.spawnNs() / 1e6));
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                for (Restorer.RestoredTask t : r.tasks()) {
                    LOG.log(System.Logger.Level.DEBUG, "task " + t.imagePid() + " -> pid " + t.pid() + ": " + t.command());
                }
            }
            progress.phase("verifying");
            // each kind checks its own fds (its classes were loaded while planning)
            report = verify ? new Verifier(images, root.toAbsolutePath().normalize(), kinds).verify(result.pidMap()) : null;
        } finally {
            ProgressDisplay.end(progress);
        }
        if (report != null) {
            LOG.log(report.ok() ? System.Logger.Level.INFO : System.Logger.Level.WARNING, () -> "verify: "
                    + (report.ok() ? "ok" : report.mismatches().size() + " mismatch(es): " + report.mismatches())
                    + ", " + report.fdsChecked() + " fds, " + report.kcmpChecks() + " kcmp checks");
        }
        List<Integer> pids = new ArrayList<>(result.pidMap().values());
        if (inv.signal() != 0) {
            // A served client's Ctrl-C during the restore: what its death would have done to a direct run.
            stop(pids);
            return interrupted(out, inv.signal());
        }
        if (json) {
            out.println(Json.pretty(json(images, result, report, restoredNs)));
        } else {
            text(out, images, result, report, restoredNs);
        }
        out.flush();
        int code = report == null || report.ok() ? Cli.EXIT_OK : Cli.EXIT_FAILED;
        if (code != Cli.EXIT_OK && then == Then.wait) {
            // Do not wait on a restore that is known to be wrong; --detach keeps the tasks for inspection.
            stop(pids);
            if (!json) {
                out.println("Verification failed: stopped the restored tasks (use --detach to keep them for inspection).");
            }
            out.flush();
            return code;
        }
        switch (then) {
            case detach -> {
                inv.leaveRunning(pids);
                if (!json) {
                    out.println("The restored tasks keep running (stop them with: kill " + join(pids) + ").");
                }
            }
            case kill -> {
                stop(pids);
                if (!json) {
                    out.println("Stopped the restored tasks (--then=kill).");
                }
            }
            case wait -> {
                Thread hook = new Thread(() -> stop(pids), "fdrestore-forward-signal");
                Runtime.getRuntime().addShutdownHook(hook);
                if (!json) {
                    out.println("Waiting for the restored tasks to end (Ctrl-C stops them)...");
                    out.flush();
                }
                awaitAll(pids, inv);
                Runtime.getRuntime().removeShutdownHook(hook);
                if (inv.signal() != 0) {
                    stop(pids);
                    return interrupted(out, inv.signal());
                }
            }
        }
        out.flush();
        return code;
    }

    /** The -o options, plus allow-devices=true with --allow-devices. */
    private Map<String, String> allPluginOptions() {
        Map<String, String> m = new HashMap<>(pluginOptions);
        if (allowDevices) {
            m.put("allow-devices", "true");
        }
        if (ptyAnyIndex) {
            m.put("pty-any-index", "true");
        }
        return m;
    }

    /** The plan of --inject-fault, or null without it. */
    private fdrestore.core.fault.FaultPlan faultPlan() throws Cli.UsageException {
        if (injectFaults.isEmpty()) {
            return null;
        }
        List<fdrestore.core.fault.FaultSpec> specs = new ArrayList<>();
        for (String f : injectFaults) {
            try {
                specs.add(fdrestore.core.fault.FaultSpec.parse(f));
            } catch (IllegalArgumentException e) {
                throw new Cli.UsageException("--inject-fault " + e.getMessage());
            }
        }
        return new fdrestore.core.fault.FaultPlan(specs);
    }

    private static String join(List<Integer> pids) {
        StringBuilder sb = new StringBuilder();
        for (int p : pids) {
            sb.append(sb.length() == 0 ? "" : " ").append(p);
        }
        return sb.toString();
    }

    /** After a forwarded signal: says so and returns the shell's code for it (128 + the signal). */
    private int interrupted(PrintWriter out, int signo) {
        if (!json) {
            out.println("Interrupted (signal " + signo + "): stopped the restored tasks.");
        }
        out.flush();
        return 128 + signo;
    }

    /**
     * Waits until every task has ended, or until {@code inv} is signalled. Root tasks are fdrestore's
     * children and are reaped; the others are their holders' children, so they are watched through /proc.
     */
    static void awaitAll(List<Integer> pids, Invocation inv) {
        for (int pid : pids) {
            while (Processes.running(pid) && inv.signal() == 0) {
                try {
                    if (Sys.waitpid(pid, 1 /* WNOHANG */) != null) {
                        break;
                    }
                } catch (SysException notOurChild) {
                    // ECHILD: built by its parent's holder
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Stops the restored tasks: SIGTERM to all, children before parents (pstree order puts parents first;
     * a holder reaps what it built while it lives), then waits for them together, up to 1 s, and SIGKILLs
     * whoever is left. Root tasks, fdrestore's own children, are reaped here. A 1,000-task tree stops in
     * milliseconds instead of one wait per process.
     */
    static void stop(List<Integer> pids) {
        List<Integer> order = new ArrayList<>(pids);
        java.util.Collections.reverse(order);
        for (int pid : order) {
            try {
                Sys.kill(pid, 15);
            } catch (SysException ignored) {
                // gone
            }
        }
        long deadline = System.nanoTime() + 1_000_000_000L;
        List<Integer> left = order;
        while (true) {
            List<Integer> still = new ArrayList<>();
            for (int pid : left) {
                if (Processes.running(pid)) {
                    still.add(pid);
                } else {
                    reap(pid); // a zombie of ours is collected; another's parent reaps its own
                }
            }
            left = still;
            if (left.isEmpty() || System.nanoTime() >= deadline) {
                break;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (int pid : left) {
            try {
                Sys.kill(pid, 9);
            } catch (SysException ignored) {
                // gone
            }
            reap(pid);
        }
    }

    private static void reap(int pid) {
        try {
            Sys.waitpid(pid, 1 /* WNOHANG */);
        } catch (SysException notOurChild) {
            // ECHILD: its parent holder reaps it
        }
    }

    private void text(PrintWriter out, ImageSet images, Restorer.Result r, Verifier.Report report, long ns) {
        out.printf("Restored %d task%s (%d fds) from %s in %.1f ms (engine %.1f ms)%n", r.tasks().size(),
                r.tasks().size() == 1 ? "" : "s", r.fds(), dir, ns / 1e6, r.engineNs() / 1e6);
        Map<Integer, Integer> depth = new HashMap<>();
        out.printf("  %-16s %-8s %5s  %s%n", "image pid", "pid", "fds", "runs");
        for (Restorer.RestoredTask t : r.tasks()) {
            Task it = images.task(t.imagePid()).orElseThrow();
            int d = depth.getOrDefault(it.ppid(), -1) + 1;
            depth.put(it.pid(), d);
            out.printf("  %-16s %-8d %5d  %s%n", "  ".repeat(d) + t.imagePid(), t.pid(), it.fds().size(), t.command());
        }
        if (r.droppedMessages() > 0) {
            out.printf("Refused %d foreign message(s) sent to the transport during the restore.%n", r.droppedMessages());
        }
        if (report != null) {
            if (report.ok()) {
                out.printf("Verified: the %d fds of the %d tasks match the images (numbers, kinds, flags, positions,"
                        + " pipes); sharing proved with %d kcmp checks.%n", report.fdsChecked(), report.tasksChecked(),
                        report.kcmpChecks());
            } else {
                out.printf("Verification FAILED: %d mismatch(es):%n", report.mismatches().size());
                for (String m : report.mismatches()) {
                    out.println("  - " + m);
                }
            }
        }
    }

    private Map<String, Object> json(ImageSet images, Restorer.Result r, Verifier.Report report, long ns) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("dir", dir.toString());
        List<Object> tasks = new ArrayList<>();
        for (Restorer.RestoredTask t : r.tasks()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("imagePid", t.imagePid());
            m.put("pid", t.pid());
            m.put("fds", images.task(t.imagePid()).orElseThrow().fds().size());
            m.put("command", t.command());
            tasks.add(m);
        }
        doc.put("tasks", tasks);
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("planMs", r.planNs() / 1e6);
        timings.put("tablesMs", r.tablesNs() / 1e6);
        timings.put("engineMs", r.engineNs() / 1e6);
        timings.put("spawnMs", r.spawnNs() / 1e6);
        timings.put("totalMs", ns / 1e6);
        doc.put("timings", timings);
        doc.put("fds", r.fds());
        doc.put("droppedMessages", r.droppedMessages());
        if (report != null) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("ok", report.ok());
            v.put("fdsChecked", report.fdsChecked());
            v.put("kcmpChecks", report.kcmpChecks());
            v.put("mismatches", report.mismatches());
            doc.put("verify", v);
        }
        doc.put("then", then.name());
        return doc;
    }
}
