package fdrestore.app.cli;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.app.Invocation;
import fdrestore.app.Log;
import fdrestore.core.process.Processes;
import fdrestore.core.restore.Restorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The restored tasks once the restore is done: the pid file naming the root task, waiting for the tasks to
 * end, and stopping them (the last part of a restore and of every test of one).
 */
public final class RestoredTasks {
    /** The restore's own logger: its log lines keep the name they had. */
    private static final System.Logger LOG = Log.of(RestoreCommand.class);

    private RestoredTasks() {
    }

    /**
     * Waits until every process of the restored tree has ended (its cgroup is empty; without one, every
     * restored task), or until {@code inv} is signalled.
     */
    static void awaitTree(Restorer.Result r, List<Integer> pids, Invocation inv) {
        awaitAll(pids, inv);
        while (r.tree().populated() && inv.signal() == 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
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
    public static void stop(List<Integer> pids) {
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
        }
        // SIGKILL is certain but not instant: reap each once it is a zombie, or it stays one (a task whose
        // image blocks SIGTERM, as nginx's does, reaches this point).
        long killed = System.nanoTime() + 1_000_000_000L;
        for (int pid : left) {
            while (Processes.running(pid) && System.nanoTime() < killed) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
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

    /**
     * The root task's pid in a new file, as criu writes it ("%d", no newline, O_EXCL, mode 0600). A pid file
     * that cannot be written fails the restore, as in criu: the tasks are stopped.
     */
    static void writePidFile(Path pidFile, ImageSet images, Restorer.Result result, List<Integer> pids) throws Exception {
        Integer root = null;
        for (Task t : images.tasks()) {
            if (images.task(t.ppid()).isEmpty()) {
                root = result.pidMap().get(t.pid());
                break;
            }
        }
        try {
            Files.write(Files.createFile(pidFile, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"))),
                    String.valueOf(root).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (java.io.IOException e) {
            result.tree().killAll(pids);
            throw new RestoreException("--pidfile " + pidFile + ": cannot write the root task's pid " + root + " (" + e
                    + "): stopped the restored tasks");
        }
        LOG.log(System.Logger.Level.DEBUG, () -> "pidfile " + pidFile + ": root task pid written");
    }
}
