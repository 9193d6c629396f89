package fdrestore.app.cli;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.app.Cli;
import fdrestore.app.Invocation;
import fdrestore.app.Log;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
import fdrestore.core.json.Json;
import fdrestore.core.process.Holder;
import fdrestore.core.process.Processes;
import fdrestore.core.restore.Capacity;
import fdrestore.core.restore.InheritFds;
import fdrestore.core.restore.Restorer;
import fdrestore.core.restore.RunJournal;
import fdrestore.core.restore.Verifier;
import fdrestore.transport.ScmTransport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fdrestore restore DIR}: rebuilds the tasks of an image set with every fd at its number.
 *
 * <p>This class is the command's options (criu's spellings among them) and the order of a restore's steps,
 * from the command line to the pid map; it is over 500 lines because that order is read best in one place.
 * What the restore prints is {@link RestoreSummary}, the stop on a signal {@link StopOnSignal}, and the pid
 * file, the wait and the stop of the restored tasks {@link RestoredTasks}.
 */
@Command(name = "restore", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Restores the fd tables of the tasks in an image set: every fd at its exact number, files",
            "shared between tasks restored once and handed to the others (one open file description), pipe",
            "and fifo data, positions and flags. Each task then becomes a process, exactly as the images",
            "record it: a holder that keeps its fds, in its recorded cwd (under --root), with its umask and",
            "blocked signals, until it is signalled. Nothing is run again unless --exec asks for it.",
            "Prints the mapping from image pid to real pid."},
        footer = {"%nExamples:",
            "  fdrestore restore --root images-samples/criu-4.2/a_pipe/root --verify \\",
            "      --then=kill images-samples/criu-4.2/a_pipe",
            "  fdrestore restore --detach --json DIR > pids.json",
            "  fdrestore restore --log-file restore.log -v --then=kill DIR",
            "  fdrestore restore -D DIR -d --pidfile root.pid -v4 -o restore.log",
            "%nFor criu users: -D/--images-dir, -d/--restore-detached, --pidfile, -o/--log-file and -v0 to -v4",
            "mean what they mean to criu restore; plugin options are --plugin-option KEY=VALUE.",
            "%nExit codes: 0 restored (and verified), 1 the restore or the verification failed (nothing is left",
            "behind), 2 bad usage or images that cannot be read.",
            "%nThe restored processes form the image's tree (parents, process groups, sessions, controlling",
            "terminals); only the root task's parent, outside the images, is fdrestore. They are all in a",
            "cgroup of their own (or, where none can be made, fdrestore is their child subreaper), so that",
            "--then=kill, Ctrl-C, SIGTERM, SIGHUP and a failed restore stop every process that descends from",
            "them, including children a command forked or daemonized.",
            "%n--root confines the paths of the images and each task's cwd (resolved under DIR; neither '..'",
            "nor a symbolic link leaves it). It does not confine what a command run with --exec does: that runs",
            "as this user with the host's view of the file system. Device nodes beyond the harmless ones need",
            "--allow-devices.",
            "%nOne restore takes up to about (kernel.pid_max - running threads) / 2 tasks (each task is a",
            "thread of fdrestore and then a process; 16,000 with the default pid_max 32768), less under a",
            "lower threads-max, RLIMIT_NPROC (non-root) or vm.max_map_count: checked before anything starts."})
public final class RestoreCommand implements Callable<Integer>, Cli.CriuLogFile {
    private static final System.Logger LOG = Log.of(RestoreCommand.class);

    enum Then { wait, detach, kill }

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", arity = "0..1",
            description = "The image directory (written by criu dump or fdrestore dump); or -D DIR.")
    Path dir;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", description = "criu's spelling of the image directory DIR.")
    Path imagesDir;

    @Option(names = "--pidfile", paramLabel = "FILE", description = "Write the root task's pid to FILE, a new file, "
            + "as criu restore --pidfile does (decimal, no newline, mode 0600).")
    Path pidFile;

    @Option(names = "-o", paramLabel = "FILE", description = "criu's spelling of --log-file FILE.")
    Path criuLogFile;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "Resolve the paths of the images under DIR (default: ${DEFAULT-VALUE}).")
    Path root;

    @Option(names = "--then", paramLabel = "WHAT", defaultValue = "wait",
            description = "After the restore (and --verify): wait for the tasks and forward SIGINT/SIGTERM to them (wait), "
                    + "leave them running and exit (detach), or stop them and exit (kill). Default: ${DEFAULT-VALUE}.")
    Then then;

    @Option(names = {"--detach", "-d", "--restore-detached"}, description = "Same as --then=detach (-d and --restore-detached: criu's spellings).")
    boolean detach;

    @Option(names = "--hold", description = "Run the holder in every task (the default; overrides --exec).")
    boolean hold;

    @Option(names = "--exec", description = "Run the recorded command (fdr-task.img: argv, env) of each task that exec'd "
            + "a program of its own, in its recorded cwd, holding its restored fds: the program starts from the "
            + "beginning (fdrestore restores fd tables, not memory). A task whose dump saw it as a forked copy of its "
            + "parent, a task with children in the images (its command would start them again) and a task sharing its "
            + "fd table keep holding. --verify runs before any command starts.")
    boolean exec;

    @Option(names = "--listen-fds", description = "With --exec: hand each command its restored listening sockets as "
            + "systemd's socket activation does (sd_listen_fds): moved to fds 3, 4 ... (what sat there moves above), "
            + "with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (fdN: the restored number). This renumbers fds.")
    boolean listenFds;

    @Option(names = "--cwd-fallback", description = "Start a task whose recorded cwd is missing under --root in the "
            + "root itself, instead of failing the restore.")
    boolean cwdFallback;

    @Option(names = "--verify", description = "Check the restored processes against the images through /proc and kcmp; "
            + "a mismatch exits 1 with a readable diff.")
    boolean verify;

    @Option(names = "--json", description = "Print a JSON document on stdout: tasks (imagePid, pid), timings, verify.")
    boolean json;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Option(names = "--progress", negatable = true,
            description = "Show (or never show) a progress line on stderr. Default: shown for restores of at least "
                    + ProgressDisplay.MIN_TASKS + " tasks or " + ProgressDisplay.MIN_FDS + " fds, when stderr is a terminal, "
                    + "without --json and outside CI (environment variable CI).")
    Boolean progress;

    @Option(names = {"--plugin-option", "--option"}, paramLabel = "KEY=VALUE",
            description = "A plugin option (repeatable); `fdrestore plugins` lists each kind's. (-o is criu's log file.)")
    Map<String, String> pluginOptions = new HashMap<>();

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", hidden = true,
            description = "Engine threads (0: twice the cores).")
    int workers;

    @Option(names = "--pty-any-index", description = "When a pty's index is taken on this host, restore it on any "
            + "free index, with its slaves and controlling terminal following (the tty plugin's pty-any-index option). "
            + "By default a taken index fails the restore, naming the process that holds it.")
    boolean ptyAnyIndex;

    @Option(names = "--allow-devices", description = "Also restore device nodes other than the harmless host "
            + "character devices (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty): refused by default. "
            + "A pty named by a regular-file entry (/dev/ptmx, /dev/pts/N) is one of them; every regular-file path is "
            + "checked with an O_PATH open and fstat before it is opened.")
    boolean allowDevices;

    @Option(names = "--shell-job", description = "Restore a job whose terminal's master was outside the dump (a shell's "
            + "terminal, tmux, sshd) onto fdrestore's own terminal (its stdin, which must be its session's controlling "
            + "terminal): the job joins fdrestore's session, its fds on that terminal are opened on stdin's terminal, and "
            + "its process group becomes the foreground group. As criu's --shell-job.")
    boolean shellJob;

    @Option(names = "--inherit-fd", paramLabel = "fd[N]:KEY", description = "Take the file criu names KEY from fd N of "
            + "fdrestore instead of restoring it, every fd of that file sharing it (repeatable; criu's spelling): "
            + "pipe:[PIPE_ID], socket:[INO], tty[RDEV:DEV] (hex), a regular file's path without its leading slash, or "
            + "the name of a file dumped as external. An external file without a mapping fails the restore.")
    List<String> inheritFds = new ArrayList<>();

    /** With --shell-job: the path of stdin's terminal, given to the tty plugin. */
    private String shellJobTerminal;

    @Option(names = "--inject-fault", paramLabel = "SYSCALL:N[:ERRNO][@PID]", hidden = true,
            description = "Hardening tests (docs/HARDENING.md): the N-th call of SYSCALL (a TaskTable method name; "
                    + "'spawn' kills the N-th process created) fails with ERRNO (default EIO), counted over every task "
                    + "or over task PID. Repeatable.")
    List<String> injectFaults = new ArrayList<>();

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "Where the restore keeps its journal of the files it makes (socket files, ghosts, directories "
                    + "for deleted names), so that `fdrestore cleanup`, run at the start of every restore, removes them "
                    + "if this fdrestore dies. Default: FDRESTORE_RUN_DIR, else /run/fdrestore/runs for root, else "
                    + "$XDG_RUNTIME_DIR/fdrestore/runs or /tmp/fdrestore-UID/runs.")
    Path runDir;

    @Option(names = "--max-fds-per-task", paramLabel = "N", defaultValue = "" + Capacity.DEFAULT_MAX_FDS_PER_TASK,
            description = "Refuse, before any syscall, an image set with a task of more than N fds (default: "
                    + Capacity.DEFAULT_MAX_FDS_PER_TASK + "). An fd number at or near RLIMIT_NOFILE's hard limit is "
                    + "always refused.")
    int maxFdsPerTask;

    @Option(names = "--pause-at", paramLabel = "PHASE", hidden = true,
            description = "Hardening tests (docs/HARDENING.md): when the restore reaches PHASE (tables, engine, processes, "
                    + "verifying), print 'paused at PHASE' on stderr and wait for ever (to be killed).")
    String pauseAt;

    /** --pause-at: stops this thread for good once the restore reaches {@code phase}. */
    private void pauseIf(String phase, PrintWriter err) {
        if (phase.equals(pauseAt)) {
            err.println("paused at " + phase);
            err.flush();
            while (true) {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    // only a signal ends this
                }
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        StopOnSignal guard = new StopOnSignal(spec.commandLine().getErr());
        guard.install();
        try {
            return restore(guard);
        } finally {
            guard.done();
        }
    }

    private Integer restore(StopOnSignal guard) throws Exception {
        long start = System.nanoTime();
        if (detach) {
            then = Then.detach;
        }
        dir = imageDir();
        if (pidFile != null && Files.exists(pidFile, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new Cli.UsageException("--pidfile " + pidFile + ": the file exists (criu's rule: the pid file is a new file)");
        }
        if (!Files.isDirectory(root)) {
            throw new Cli.UsageException("--root " + root + ": no such directory");
        }
        InheritFds inherit = inheritFds();
        String terminal = shellJob ? ShellJob.terminal() : null;
        shellJobTerminal = terminal;
        if (listenFds && !exec) {
            throw new Cli.UsageException("--listen-fds needs --exec (only a command run again takes over its listeners)");
        }
        // The native bindings load on another core while the images are read, checked and planned.
        fdrestore.core.runtime.TaskRuntime.warmUpInBackground();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path runBase = runDir != null ? runDir : RunJournal.base(Cli.invocation(spec).env());
        for (RunJournal.Cleaned c : RunJournal.cleanup(runBase)) {
            if (c.housekeeping()) {
                LOG.log(System.Logger.Level.INFO, () -> "cleanup: " + c.line());
            } else {
                err.println("Cleanup: " + c.line());
            }
        }
        err.flush();
        ImageSet images = ImageSet.open(dir);
        Capacity.checkFds(images, maxFdsPerTask);
        int fdCount = images.tasks().stream().mapToInt(t -> t.fds().size()).sum();
        LOG.log(System.Logger.Level.INFO, () -> "image set " + dir + ": " + images.tasks().size() + " tasks, " + fdCount
                + " fds, " + images.sharers().size() + " open files; root " + root + ", then " + then);
        Invocation inv = Cli.invocation(spec);
        RestoreProgress progress = ProgressDisplay.create(inv, spec.commandLine().getErr(), this.progress, json,
                images.tasks().size(), fdCount);
        Restorer.Result result;
        Verifier.Report report;
        long restoredNs;
        RunJournal journal = null;
        try {
            Set<FdType> used = PluginHost.typesUsed(images);
            try (PluginHost host = Cli.invocation(spec).plugins(pluginFolders.dirs(), used)) {
                LOG.log(System.Logger.Level.DEBUG, () -> "plugins from " + host.dirs() + ": " + host.plugins()
                        + "; not opened (fd types unused): " + host.skipped());
                host.requireKinds(used);
                checkPluginOptions(host.kinds());
                Restorer.Options opts = new Restorer.Options(root.toAbsolutePath().normalize(), allPluginOptions(),
                        Holder.path(), hold, workers).withFaults(faultPlan())
                        .withWorkDir(inv.cwd() != null && Files.isDirectory(inv.cwd()) ? inv.cwd() : null)
                        .withLaunch(new Restorer.Launch(exec && !hold, listenFds, cwdFallback));
                progress.totals(images.tasks().size(), fdCount);
                RestoreProgress shown = progress;
                Restorer restorer = new Restorer(images, host.kinds(), () -> {
                    ScmTransport t = ScmTransport.create();
                    LOG.log(t.isolated() ? System.Logger.Level.DEBUG : System.Logger.Level.INFO,
                            () -> "transport endpoints: " + t.isolation());
                    return t;
                }, opts).inheritFds(inherit);
                journal = openJournal(runBase);
                restorer.journal(journal);
                guard.restoring(restorer);
                if (exec && !hold && restorer.commandsToRun() == 0) {
                    err.println("Notice: --exec, but no task of " + dir + " records a command it exec'd"
                            + (images.tasks().stream().anyMatch(t -> images.fdrTask(t.pid()).isPresent()) ? ""
                            : " (no fdr-task.img: criu records none)") + "; every task holds its fds.");
                    err.flush();
                }
                Verifier.Report[] atGate = new Verifier.Report[1];
                Path vroot = root.toAbsolutePath().normalize();
                restorer.atGate((pm, extra) -> {
                    shown.phase("verifying");
                    pauseIf("verifying", err);
                    if (verify) {
                        // before any command starts: the tables as restored, not as a command changed them
                        atGate[0] = new Verifier(images, vroot, host.kinds()).inheritFds(inherit).verify(pm, extra);
                    }
                });
                result = restorer
                        .progress(new fdrestore.core.engine.Progress() {
                            @Override
                            public void phase(String name) {
                                shown.phase(name);
                                pauseIf(name, err);
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
                restoredNs = System.nanoTime() - start;
                guard.restored(result);
                if (journal != null) {
                    journal.close(true); // released: what it made and left is the restored tree's
                    journal = null;
                }
                report = atGate[0];
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
        } finally {
            if (journal != null) {
                for (RunJournal.Cleaned c : journal.close(false)) {
                    err.println("Cleanup: " + c.line());
                }
                journal = null;
            }
            ProgressDisplay.end(progress);
        }
        if (report != null) {
            LOG.log(report.ok() ? System.Logger.Level.INFO : System.Logger.Level.WARNING, () -> "verify: "
                    + (report.ok() ? "ok" : report.mismatches().size() + " mismatch(es): " + report.mismatches())
                    + ", " + report.fdsChecked() + " fds, " + report.kcmpChecks() + " kcmp checks");
        }
        List<Integer> pids = new ArrayList<>(result.pidMap().values());
        if (terminal != null && inv.signal() == 0) {
            try {
                int fg = ShellJob.giveTerminal(images, result);
                LOG.log(System.Logger.Level.INFO, () -> "--shell-job: " + terminal + (fg != 0 ? " given to process group " + fg
                        : " kept by fdrestore's group (the job's root had joined its shell's group)"));
            } catch (SysException e) {
                stopTree(result, pids);
                throw new RestoreException("restore of " + dir + " failed, nothing was left behind: --shell-job: making the"
                        + " job the foreground of " + terminal + ": " + e.getMessage(), e);
            }
        }
        if (pidFile != null) {
            RestoredTasks.writePidFile(pidFile, images, result, pids);
        }
        if (inv.signal() != 0) {
            // A served client's Ctrl-C during the restore: what its death would have done to a direct run.
            stopTree(result, pids);
            guard.done();
            return interrupted(out, inv.signal());
        }
        if (json) {
            out.println(Json.pretty(RestoreSummary.json(dir, then, images, result, report, restoredNs)));
        } else {
            RestoreSummary.text(out, dir, images, result, report, restoredNs);
        }
        out.flush();
        int code = report == null || report.ok() ? Cli.EXIT_OK : Cli.EXIT_FAILED;
        if (code != Cli.EXIT_OK && then == Then.wait) {
            // Do not wait on a restore that is known to be wrong; --detach keeps the tasks for inspection.
            stopTree(result, pids);
            guard.done();
            if (!json) {
                out.println("Verification failed: stopped the restored tasks (use --detach to keep them for inspection).");
            }
            out.flush();
            return code;
        }
        switch (then) {
            case detach -> {
                guard.done(); // from here on the tree is the user's: a signal to fdrestore leaves it running
                inv.leaveRunning(pids);
                if (!json) {
                    out.println("The restored tasks keep running. Stop the whole tree with: "
                            + result.tree().stopCommand(pids));
                }
            }
            case kill -> {
                int n = stopTree(result, pids);
                guard.done();
                if (!json) {
                    out.println("Stopped the restored tree (--then=kill): " + n + " process" + (n == 1 ? "" : "es") + ".");
                }
            }
            case wait -> {
                if (!json) {
                    out.println("Waiting for the restored tasks to end (Ctrl-C stops them)...");
                    out.flush();
                }
                RestoredTasks.awaitTree(result, pids, inv);
                if (inv.signal() != 0) {
                    stopTree(result, pids);
                    guard.done();
                    return interrupted(out, inv.signal());
                }
                stopTree(result, pids); // what the tasks left behind (a daemon they forked) ends with them
                guard.done();
            }
        }
        out.flush();
        return code;
    }

    /** Stops every process of the restored tree (its cgroup, or what the subreaper sees); returns the count. */
    private static int stopTree(Restorer.Result r, List<Integer> pids) {
        return r.tree().killAll(pids);
    }

    @Override
    public Path criuLogFile() {
        return criuLogFile;
    }

    /** DIR or -D DIR: exactly one. */
    private Path imageDir() throws Cli.UsageException {
        if (dir != null && imagesDir != null && !dir.equals(imagesDir)) {
            throw new Cli.UsageException("two image directories: " + dir + " and -D " + imagesDir + ": give one");
        }
        if (dir == null && imagesDir == null) {
            throw new Cli.UsageException("the image directory is missing: give DIR or -D DIR");
        }
        return dir != null ? dir : imagesDir;
    }

    /** Refuses a plugin option no kind reads, naming the ones they do. */
    private void checkPluginOptions(List<fdrestore.api.spi.FileKind> kinds) throws Cli.UsageException {
        java.util.TreeSet<String> known = new java.util.TreeSet<>();
        for (fdrestore.api.spi.FileKind k : kinds) {
            known.addAll(k.options());
        }
        for (String key : new java.util.TreeSet<>(pluginOptions.keySet())) {
            if (!known.contains(key)) {
                throw new Cli.UsageException("--plugin-option " + key + ": no plugin reads this option; the known ones are "
                        + (known.isEmpty() ? "none" : String.join(", ", known)));
            }
        }
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
        if (shellJobTerminal != null) {
            m.put("shell-job-tty", shellJobTerminal);
        }
        return m;
    }

    /**
     * The --inherit-fd mappings, each fd checked to be open in this process: a usage error (exit 2)
     * before anything is read or started.
     */
    private InheritFds inheritFds() throws Cli.UsageException {
        InheritFds m;
        try {
            m = InheritFds.parse(inheritFds);
        } catch (IllegalArgumentException e) {
            throw new Cli.UsageException(e.getMessage());
        }
        for (Map.Entry<String, Integer> e : m.byKey().entrySet()) {
            try {
                Sys.fcntl(e.getValue(), fdrestore.api.sys.Linux.F_GETFD, 0);
            } catch (SysException x) {
                throw new Cli.UsageException("--inherit-fd fd[" + e.getValue() + "]:" + e.getKey() + ": fd " + e.getValue()
                        + " is not open in fdrestore (" + x.getMessage() + ")");
            }
        }
        return m;
    }

    /**
     * This restore's journal under {@code base}; a restore without one (the run directory cannot be made)
     * goes on, and says so in the log: what it makes is then only removed by its own rollback.
     */
    private static RunJournal openJournal(Path base) {
        try {
            return RunJournal.open(base);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "no journal in " + base + " (a SIGKILL would leave the files this "
                    + "restore makes): " + e.getMessage());
            return null;
        }
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

    /** After a forwarded signal: says so and returns the shell's code for it (128 + the signal). */
    private int interrupted(PrintWriter out, int signo) {
        if (!json) {
            out.println("Interrupted (signal " + signo + "): stopped the restored tasks.");
        }
        out.flush();
        return 128 + signo;
    }

}
