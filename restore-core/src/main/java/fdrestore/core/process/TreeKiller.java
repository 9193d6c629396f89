package fdrestore.core.process;

import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/** Stops a restored tree that must not live on: every process the restore made, and their descendants. */
public final class TreeKiller {
    private TreeKiller() {
    }

    /**
     * Kills every process the restore created, with its descendants: a child that a holder forked but
     * whose pid never reached us (the exchange failed before "F pid") would otherwise outlive its parent
     * (found by the fault sweep). Runs before the tables are closed: a root holder dies with its executor
     * thread, which would orphan such a child before it could be found.
     *
     * <p>Every process is stopped before it is killed, and the listing is repeated until it finds no new
     * one: a holder that was not stopped yet may fork a queued child between a listing and the kill, but
     * a stopped one forks no more. A child orphaned before this runs (its holder died) is not found here;
     * it ends by itself, at its gate or at the end of its command pipe (see fdrestore-holder.c).
     */
    public static void killTree(List<Integer> spawned) {
        Set<Long> all = new HashSet<>();
        List<Long> fresh = new ArrayList<>();
        spawned.forEach(p -> fresh.add((long) p));
        while (!fresh.isEmpty()) {
            for (long p : fresh) {
                quietSignal((int) p, 19 /* SIGSTOP */);
            }
            for (long p : fresh) {
                awaitStopped((int) p);
            }
            all.addAll(fresh);
            fresh.clear();
            ProcessHandle.allProcesses().forEach(h -> { // one /proc scan a round, whatever the tree's size
                if (!all.contains(h.pid()) && h.parent().map(pa -> all.contains(pa.pid())).orElse(false)) {
                    fresh.add(h.pid());
                }
            });
        }
        all.removeAll(spawned.stream().map(Long::valueOf).collect(Collectors.toSet()));
        for (long p : all) {
            quietKill((int) p);
        }
        for (int pid : spawned) {
            try {
                Sys.kill(pid, 9);
                Sys.waitpid(pid, 0);
            } catch (SysException ignored) {
                // already gone, or a holder's child (its parent reaps it)
            }
        }
    }

    static void quietKill(int pid) {
        quietSignal(pid, 9);
    }

    /** kill(pid, sig), for a process that may be gone already. */
    static void quietSignal(int pid, int sig) {
        try {
            Sys.kill(pid, sig);
        } catch (SysException gone) {
            // gone already
        }
    }

    /** Waits, up to 2 s, until process {@code pid} is stopped or gone. */
    private static void awaitStopped(int pid) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
                char state = st.charAt(st.lastIndexOf(')') + 2);
                if (state == 'T' || state == 't' || state == 'Z' || state == 'X') {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                return;
            }
            LockSupport.parkNanos(100_000);
        }
    }
}
