package fdrestore.core.process;

import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import fdrestore.core.runtime.SpawnSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The holder's command line for each task (its options: name, cwd, masks, terminal, control pipes, locks,
 * then its command) and how a root task is spawned; what each option does is in fdrestore-holder.c.
 */
final class HolderCommandLine {
    private final TreePlan plan;
    private final String holder;
    private final Path root;
    private final Path workDir;
    private final boolean listenFds;
    /** The control pipes of the tree's builders (image pid), once the tree's build has made them. */
    private final Map<Integer, HolderChannel> controls;
    /** Per task that runs its command (image pid): its start pipe {read, write}, in its table. */
    private final Map<Integer, int[]> starts;

    HolderCommandLine(TreePlan plan, String holder, Path root, Path workDir, boolean listenFds,
                      Map<Integer, HolderChannel> controls, Map<Integer, int[]> starts) {
        this.plan = plan;
        this.holder = holder;
        this.root = root;
        this.workDir = workDir;
        this.listenFds = listenFds;
        this.controls = controls;
        this.starts = starts;
    }

    /** The pidfds and procfs files a builder opens at its release: their target is built after it started. */
    private final Map<Integer, List<ProcessAction>> atRelease = new HashMap<>();

    /** The "release" command's words for builder {@code pid}'s pidfds and procfs files (see atRelease). */
    List<String> releaseOpens(int pid, Map<Integer, Integer> real) {
        List<String> out = new ArrayList<>();
        for (ProcessAction a : atRelease.getOrDefault(pid, List.of())) {
            out.add(a instanceof ProcessAction.Pidfd f ? "pidfd=" + pidfdSpec(f, real.get(f.imagePid()))
                    : "proc=" + procSpec((ProcessAction.ProcFile) a, real.get(((ProcessAction.ProcFile) a).imagePid())));
        }
        return out;
    }

    /** The holder's "FD,...:PID:FLAGS:POS:REST" of a procfs file (PID 0: the holder itself). */
    private static String procSpec(ProcessAction.ProcFile p, int pid) {
        return joined(p.fds()) + ":" + pid + ":" + p.flags() + ":" + p.pos() + ":" + p.rest();
    }

    /** The holder's "FD,...:PID:FLAGS" of a pidfd (PID 0: the holder itself). */
    private static String pidfdSpec(ProcessAction.Pidfd p, int pid) {
        return joined(p.fds()) + ":" + pid + ":" + p.flags();
    }

    /** The holder's "FD,FD,..." of a list of fds. */
    private static String joined(List<Integer> fds) {
        StringBuilder out = new StringBuilder();
        fds.forEach(fd -> out.append(out.length() == 0 ? "" : ",").append(fd));
        return out.toString();
    }

    /** The holder's command line for task {@code t}: name, ctty, control, fg, cloexec, then its command. */
    List<String> argv(Task t, Map<Integer, Integer> real, HolderChannel control) throws RestoreException {
        FdrTaskEntry fdr = plan.command(t);
        List<String> argv = new ArrayList<>();
        argv.add(holder);
        argv.add("--comm");
        argv.add(t.comm() != null ? t.comm() : "fdrestore-hold");
        String cwd = plan.cwd(t);
        int ghostCwd = plan.ghostCwdFd(t);
        if (ghostCwd >= 0) {
            argv.add("--cwd-fd"); // a removed directory: the one its fd holds (criu's ghost)
            argv.add(Integer.toString(ghostCwd));
        } else if (cwd != null) {
            argv.add("--root");
            argv.add(root.toString());
            argv.add("--cwd");
            argv.add(cwd);
        }
        if (t.fs() != null && t.fs().hasUmask()) {
            argv.add("--umask");
            argv.add(Integer.toOctalString(t.fs().getUmask()));
        }
        if (fdr == null && plan.images().blockedSignals(t.pid()) != 0) {
            argv.add("--sigmask");
            argv.add(Long.toHexString(plan.images().blockedSignals(t.pid())));
        }
        String fg = null;
        for (ProcessAction a : plan.actions(t.pid())) {
            if (a instanceof ProcessAction.ControllingTerminal c) {
                argv.add("--ctty");
                argv.add(Integer.toString(c.fd()));
            } else if (a instanceof ProcessAction.ControllingTerminalPath c) {
                argv.add("--ctty-path");
                argv.add(c.path());
            } else if (a instanceof ProcessAction.ReopenControllingTty r) {
                argv.add("--reopen-tty");
                argv.add(joined(r.fds()) + ":" + r.flags());
            } else if (a instanceof ProcessAction.ForegroundGroup g) {
                if (g.imagePgid() != t.pid() && plan.images().task(g.imagePgid()).isEmpty()) {
                    throw new RestoreException("task " + t.pid() + ": the foreground group " + g.imagePgid()
                            + " of its tty (fd " + g.fd() + ") has no leader in the images");
                }
                fg = g.fd() + ":" + g.imagePgid();
            }
        }
        if (control != null) {
            argv.add("--control");
            argv.add(control.cmdRead() + ":" + control.replyWrite());
        }
        if (fg != null) {
            // The group's real id is known once its leader exists: fg groups are resolved at release, so
            // only the leader's own group (0) or a group built before this holder is named here.
            String[] f = fg.split(":");
            int imagePgid = Integer.parseInt(f[1]);
            Integer pg = imagePgid == t.pid() ? Integer.valueOf(0) : real.get(imagePgid);
            argv.add("--fg");
            argv.add(f[0] + ":" + (pg == null ? "0" : pg.toString()));
        }
        StringBuilder cloexec = new StringBuilder();
        for (Fd fd : t.fds()) {
            if (fd.cloexec() && plan.tableOwner(t) == t.pid()) { // a sharer's flags are its owner's to set
                cloexec.append(cloexec.length() == 0 ? "" : ",").append(fd.fd());
            }
        }
        if (cloexec.length() > 0) {
            argv.add("--cloexec");
            argv.add(cloexec.toString());
        }
        for (ProcessAction a : plan.actions(t.pid())) {
            if (a instanceof ProcessAction.FileLock l) {
                argv.add("--lock");
                argv.add(l.fd() + ":" + l.flag() + ":" + l.type() + ":" + l.start() + ":" + l.len());
            }
        }
        for (ProcessAction a : plan.actions(t.pid())) {
            if (a instanceof ProcessAction.Pidfd || a instanceof ProcessAction.ProcFile) {
                ProcessAction.Pidfd p = a instanceof ProcessAction.Pidfd x ? x : null;
                ProcessAction.ProcFile f = a instanceof ProcessAction.ProcFile x ? x : null;
                int target = p != null ? p.imagePid() : f.imagePid();
                Integer pid = target == t.pid() ? Integer.valueOf(0) : real.get(target);
                if (pid != null) {
                    argv.add(p != null ? "--pidfd" : "--proc-open");
                    argv.add(p != null ? pidfdSpec(p, pid) : procSpec(f, pid));
                } else if (control != null) {
                    atRelease.computeIfAbsent(t.pid(), k -> new ArrayList<>()).add(a); // once it has built its children
                } else {
                    throw new RestoreException("task " + t.pid() + " fd " + (p != null ? p.fds() : f.fds()).get(0) + ": "
                            + (p != null ? "a pidfd" : "/proc/" + target + "/" + f.rest()) + " of task " + target
                            + ", whose process is built after this task's, which builds no children: cannot be restored yet");
                }
            }
        }
        if (fdr != null) {
            // A task built by its parent's holder inherits that holder's environment and directory:
            // give the command its own, as recorded.
            fdr.getEnvList().forEach(e -> {
                argv.add("--env");
                argv.add(e.toString(StandardCharsets.UTF_8));
            });
            if (listenFds && !t.fds().isEmpty()) {
                StringBuilder all = new StringBuilder();
                t.fds().forEach(fd -> all.append(all.length() == 0 ? "" : ",").append(fd.fd()));
                argv.add("--listen-fds");
                argv.add(all.toString());
            }
            argv.add("--start");
            argv.add(Integer.toString(starts.get(t.pid())[0]));
            argv.add("--exec");
            fdr.getArgvList().forEach(a -> argv.add(a.toString(StandardCharsets.UTF_8)));
        }
        return argv;
    }

    /** How a root task is spawned from its executor: setsid, group, env and cwd of its command. */
    SpawnSpec rootSpec(Task t, List<String> argv, Map<Integer, Integer> real, HolderChannel control, int readyFd) {
        FdrTaskEntry fdr = plan.command(t);
        List<String> env = List.of("PATH=/usr/bin:/bin");
        String chdir = workDir != null ? workDir.toString() : null;
        if (fdr != null) {
            List<String> e = new ArrayList<>();
            fdr.getEnvList().forEach(a -> e.add(a.toString(StandardCharsets.UTF_8)));
            env = e;
        }
        SpawnSpec.Builder b = SpawnSpec.builder(holder).argv(argv).envp(env);
        if (chdir != null) {
            b.chdir(chdir);
        }
        int[] keep = t.fds().stream().mapToInt(Fd::fd).toArray();
        int[] k = Arrays.copyOf(keep, keep.length + (control != null ? 3 : 1));
        k[keep.length] = readyFd;
        if (control != null) {
            k[keep.length + 1] = control.cmdRead();
            k[keep.length + 2] = control.replyWrite();
        }
        List<Integer> more = new ArrayList<>(sharersEnds(t));
        if (starts.containsKey(t.pid())) {
            more.add(starts.get(t.pid())[0]);
        }
        keep = IntStream.concat(Arrays.stream(k), more.stream().mapToInt(i -> i)).toArray();
        b.keep(keep);
        if (t.sessionLeader()) {
            b.setsid(true);
        } else {
            // A root outside its session's leader: it keeps fdrestore's session, in a group of its own.
            b.pgroup(t.groupLeader() || real.get(t.pgid()) == null ? 0 : real.get(t.pgid()));
        }
        return b.build();
    }

    /**
     * The control pipe ends of the tasks that share {@code t}'s table, when {@code t} owns it: they are made
     * in its table and must be there when each sharer is cloned from its parent.
     */
    List<Integer> sharersEnds(Task t) {
        List<Integer> out = new ArrayList<>();
        for (int pid : plan.sharersOf(t.pid())) {
            HolderChannel c = controls.get(pid);
            if (c != null) {
                for (int fd : c.holderEnds()) {
                    out.add(fd);
                }
            }
        }
        return out;
    }

    String display(Task t) {
        FdrTaskEntry fdr = plan.command(t);
        if (fdr != null) {
            List<String> a = new ArrayList<>();
            fdr.getArgvList().forEach(x -> a.add(x.toString(StandardCharsets.UTF_8)));
            return String.join(" ", a);
        }
        return "holder (" + (t.comm() != null ? t.comm() : "fdrestore-hold") + ")";
    }
}
