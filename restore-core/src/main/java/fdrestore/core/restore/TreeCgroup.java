package fdrestore.core.restore;

import fdrestore.api.sys.KernelRandom;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What holds every process a restore makes, so that stopping it cannot miss one: a cgroup (v2) of its own,
 * created beside (under) the cgroup of this process. Each root task's holder joins it before anything else
 * (fdrestore-holder --cgroup), so every task it builds, and every child, daemon (double fork, setsid) or
 * reparented orphan of a restored command is in it; {@code cgroup.kill} kills them all at once, including
 * a fork in progress. Where no writable cgroup v2 with {@code cgroup.kill} exists (kernels before 5.14,
 * cgroup v1 only, no delegation), this process becomes a child subreaper instead: orphans of the tree are
 * reparented to it rather than to init, and a stop kills every child it gained since the restore began,
 * with their descendants, as well as the descendants of the tree's roots.
 */
public final class TreeCgroup {
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final long SYS_PRCTL = 157;

    /** The cgroup directory, or null for the subreaper fallback. */
    private final Path dir;
    /** Subreaper fallback: this process's children before the restore (never stopped by it). */
    private final Set<Long> before;
    /** The restore that made it is over (its tree exists, or never will): {@link #sweep} may remove it once empty. */
    private volatile boolean settled;

    private TreeCgroup(Path dir, Set<Long> before) {
        this.dir = dir;
        this.before = before;
    }

    /**
     * A new, empty cgroup for one restore (named after this pid and a random suffix), or the subreaper
     * fallback when none can be made. {@code FDRESTORE_CGROUP=off} in the environment forces the fallback
     * (tests of it).
     */
    public static TreeCgroup create() {
        sweep();
        if (!"off".equals(System.getenv("FDRESTORE_CGROUP"))) {
            Path parent = ownCgroup();
            if (parent != null) {
                String name = "fdrestore-" + ProcessHandle.current().pid() + "-"
                        + Long.toHexString(KernelRandom.nextLong() & 0xffffffffL);
                try {
                    Path made = Files.createDirectory(parent.resolve(name));
                    if (!Files.exists(made.resolve("cgroup.kill"))) { // before 5.14 (a root cgroup has none either)
                        Files.delete(made);
                        throw new IOException("no cgroup.kill");
                    }
                    TreeCgroup t = new TreeCgroup(made, Set.of());
                    synchronized (MADE) {
                        if (MADE.isEmpty()) {
                            Runtime.getRuntime().addShutdownHook(new Thread(TreeCgroup::sweep, "fdrestore-cgroup-sweep"));
                        }
                        MADE.add(t);
                    }
                    return t;
                } catch (IOException | UnsupportedOperationException e) {
                    // not writable here: fall back
                }
            }
        }
        Sys.libc().syscall(SYS_PRCTL, PR_SET_CHILD_SUBREAPER, 1);
        Set<Long> mine = new HashSet<>();
        ProcessHandle.current().children().forEach(h -> mine.add(h.pid()));
        return new TreeCgroup(null, mine);
    }

    /** The cgroups this JVM made and has not removed yet. */
    private static final Set<TreeCgroup> MADE = new HashSet<>();

    /**
     * Removes every cgroup this JVM made whose restore is over and whose processes have all ended (a tree
     * stopped by its pids, or that ended by itself). Runs before each new one is made and when the JVM exits;
     * a cgroup that still has processes (a detached tree) stays, with the command printed to stop it, and so
     * does the still empty cgroup of a restore under way (its first holder has not joined yet).
     */
    public static void sweep() {
        synchronized (MADE) {
            MADE.removeIf(t -> {
                try {
                    return t.settled && !t.populated() && Files.deleteIfExists(t.dir) || !Files.exists(t.dir);
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    /** The restore that made this cgroup is over, either way: once empty, it may be swept. */
    public void settle() {
        settled = true;
    }

    /**
     * The cgroup v2 directory this process is in, from /proc/self/cgroup ("0::PATH") and the mount of
     * cgroup2 in /proc/self/mountinfo (at /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host).
     */
    public static Path ownCgroup() {
        return cgroupOf("self");
    }

    /** The cgroup v2 directory of process {@code pid} ("self" for this one), as {@link #ownCgroup()}; null if none. */
    public static Path cgroupOf(String pid) {
        try {
            String rel = null;
            for (String l : Files.readAllLines(Path.of("/proc", pid, "cgroup"))) {
                if (l.startsWith("0::")) {
                    rel = l.substring(3);
                }
            }
            if (rel == null) {
                return null;
            }
            for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                int dash = l.indexOf(" - ");
                if (dash > 0 && l.substring(dash + 3).startsWith("cgroup2 ")) {
                    String[] f = l.split(" ");
                    String mountRoot = f[3];
                    Path mount = Path.of(f[4]);
                    // The cgroup path is relative to the hierarchy's root; the mount shows mountRoot of it.
                    if (!rel.startsWith(mountRoot)) {
                        continue;
                    }
                    String below = rel.substring(mountRoot.length()).replaceFirst("^/+", "");
                    return below.isEmpty() ? mount : mount.resolve(below);
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** The cgroup directory, or null when this restore relies on the subreaper fallback. */
    public Path dir() {
        return dir;
    }

    /** What the holder of a root task must be given to join it: "--cgroup DIR", or nothing. */
    public List<String> holderArgs() {
        return dir == null ? List.of() : List.of("--cgroup", dir.toString());
    }

    /**
     * One shell command that stops the whole restored tree, for a user who leaves it running: the cgroup's
     * kill (then its removal, once empty). Without a cgroup, a kill of the given pids: it misses what the
     * tree forked since (see the class comment).
     */
    public String stopCommand(List<Integer> pids) {
        if (dir != null) {
            return "echo 1 > " + dir.resolve("cgroup.kill") + " && sleep 0.2; rmdir " + dir;
        }
        StringBuilder sb = new StringBuilder("kill -9");
        pids.forEach(p -> sb.append(' ').append(p));
        return sb.toString();
    }

    /** The pids in the cgroup now (empty for the fallback, or once it is gone). */
    public List<Long> members() {
        List<Long> out = new ArrayList<>();
        if (dir == null) {
            return out;
        }
        try {
            for (String l : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!l.isBlank()) {
                    out.add(Long.parseLong(l.trim()));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return out;
    }

    /**
     * Kills every process of the restore and waits (up to 5 s) until none is left, reaping the roots
     * (this process's children); then removes the cgroup. {@code roots} are the real pids of the root
     * tasks (and any other pid the restore made, for the fallback's listing). Returns how many processes
     * were killed. Safe to call twice, and from a shutdown hook.
     */
    public synchronized int killAll(List<Integer> roots) {
        int killed;
        if (dir != null) {
            long self = ProcessHandle.current().pid();
            for (int pid : roots) {
                // A root holder not in the cgroup yet (it joins first thing) goes too. Only this process's
                // own children: their pids cannot be reused before they are reaped here.
                if (ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L) == self) {
                    signal(pid, 9);
                }
            }
            killed = Math.max(members().size(), roots.size());
            try {
                Files.writeString(dir.resolve("cgroup.kill"), "1");
            } catch (IOException e) {
                // gone already (a second call)
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline && populated()) {
                reapChildren(roots);
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
            }
            reapChildren(roots);
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // still populated after 5 s (a process in D state): left for the printed command
            }
        } else {
            killed = killListed(roots);
        }
        return killed;
    }

    /** Removes the cgroup if it is empty (the tree ended by itself); true when it is gone. */
    public boolean removeIfEmpty() {
        if (dir == null) {
            return true;
        }
        if (populated()) {
            return false;
        }
        try {
            Files.deleteIfExists(dir);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** True while some process (or zombie not yet reaped) is in the cgroup. */
    public boolean populated() {
        if (dir == null) {
            return false;
        }
        try {
            for (String l : Files.readAllLines(dir.resolve("cgroup.events"))) {
                if (l.startsWith("populated ")) {
                    return !l.endsWith(" 0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static void reapChildren(List<Integer> roots) {
        for (int pid : roots) {
            try {
                Sys.waitpid(pid, 1 /* WNOHANG */);
            } catch (SysException notOurs) {
                // reaped, or not our child
            }
        }
    }

    /**
     * The fallback: stops (SIGSTOP) the roots, their descendants and every child this process gained since
     * the restore began (orphans of the tree, reparented to this subreaper), listing again until no new
     * one appears (a stopped process forks no more), then kills and reaps them all.
     */
    private int killListed(List<Integer> roots) {
        Set<Long> all = new HashSet<>();
        List<Long> fresh = new ArrayList<>();
        roots.forEach(p -> fresh.add((long) p));
        long self = ProcessHandle.current().pid();
        while (!fresh.isEmpty()) {
            for (long p : fresh) {
                signal((int) p, 19 /* SIGSTOP */);
            }
            all.addAll(fresh);
            fresh.clear();
            ProcessHandle.allProcesses().forEach(h -> {
                long pp = h.parent().map(ProcessHandle::pid).orElse(-1L);
                if (!all.contains(h.pid()) && (all.contains(pp) || pp == self && !before.contains(h.pid()))) {
                    fresh.add(h.pid());
                }
            });
        }
        for (long p : all) {
            signal((int) p, 9);
        }
        for (long p : all) {
            try {
                Sys.waitpid((int) p, 0);
            } catch (SysException notOurs) {
                // its parent reaps it
            }
        }
        return all.size();
    }

    private static void signal(int pid, int sig) {
        try {
            Sys.kill(pid, sig);
        } catch (SysException gone) {
            // gone already
        }
    }
}
