package fdrestore.core.restore;

import fdrestore.api.spi.RestoreException;
import fdrestore.api.sys.Sys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this host can take a restore of N tasks, checked before anything starts. Each task costs one
 * executor thread in this JVM (its private fd table) and then one process, both alive at once while the
 * tree is built: 2 N new kernel tasks. They must fit under the pid space ({@code kernel.pid_max}) and the
 * system's thread limit ({@code kernel.threads-max}) beside what runs already, under this user's
 * RLIMIT_NPROC (root is exempt), and the N thread stacks (two mappings each) under {@code vm.max_map_count}
 * beside this JVM's own mappings. Without the check a restore too big for the host fails midway with
 * "unable to create native thread" (20,000 tasks did, with a stack trace).
 */
public final class Capacity {
    private static final int RLIMIT_NPROC = 6;

    private Capacity() {
    }

    /** Fails with the limit that {@code tasks} tasks would exceed, and by how much. */
    public static void check(int tasks) throws RestoreException {
        String why = problem(tasks, running(), sysctl("kernel/pid_max"), sysctl("kernel/threads-max"),
                nproc(), sysctl("vm/max_map_count"), maps());
        if (why != null) {
            throw new RestoreException("the image set has " + tasks + " tasks, more than this host can restore at once: "
                    + why);
        }
    }

    /**
     * The check on given figures (any limit below 0 is unknown and not checked): null when it fits, else
     * what it exceeds.
     */
    static String problem(int tasks, long running, long pidMax, long threadsMax, long nproc, long maxMaps, long maps) {
        long need = 2L * tasks;
        if (pidMax > 0 && running >= 0 && need > pidMax - running) {
            return "it needs " + need + " pids (a thread and a process per task) and kernel.pid_max " + pidMax
                    + " leaves " + Math.max(0, pidMax - running) + " beside the " + running + " threads running";
        }
        if (threadsMax > 0 && running >= 0 && need > threadsMax - running) {
            return "it needs " + need + " threads and processes and kernel.threads-max " + threadsMax + " leaves "
                    + Math.max(0, threadsMax - running) + " beside the " + running + " running";
        }
        if (nproc > 0 && need > nproc) {
            return "it needs " + need + " threads and processes and this user's RLIMIT_NPROC (ulimit -u) is " + nproc;
        }
        if (maxMaps > 0 && maps >= 0 && 2L * tasks > maxMaps - maps) {
            return "its " + tasks + " executor threads need " + 2L * tasks + " memory mappings and vm.max_map_count "
                    + maxMaps + " leaves " + Math.max(0, maxMaps - maps) + " beside this JVM's " + maps;
        }
        return null;
    }

    /** The default of {@code maxFdsPerTask}: a restore of more fds in one task must say so (--max-fds-per-task). */
    public static final int DEFAULT_MAX_FDS_PER_TASK = 65_536;
    /** The temporary fds of a task's table sit above its highest fd: this many (see TaskRuntime). */
    private static final int TEMPORARY_FDS = 256;

    /**
     * Fails, before any syscall, when a task of {@code images} holds more than {@code maxFdsPerTask} fds, or
     * an fd number that no process here can hold: at or past RLIMIT_NOFILE's hard limit, less the restore's
     * own temporary fds above it. Names the task, the fd and the figures.
     */
    public static void checkFds(fdrestore.api.image.ImageSet images, int maxFdsPerTask) throws RestoreException {
        long hard;
        try {
            hard = Sys.getrlimit(fdrestore.api.sys.Linux.RLIMIT_NOFILE).hard();
        } catch (fdrestore.api.sys.SysException | RuntimeException e) {
            hard = -1;
        }
        for (fdrestore.api.image.ImageSet.Task t : images.tasks()) {
            String why = fdProblem(t.pid(), t.fds().size(), t.fds().stream().mapToInt(f -> f.fd()).max().orElse(-1),
                    maxFdsPerTask, hard);
            if (why != null) {
                throw new RestoreException(why);
            }
        }
    }

    /** The check of one task on given figures (hard below 0: unknown): null when it fits, else why not. */
    static String fdProblem(int pid, int fds, int maxFd, int maxFdsPerTask, long hard) {
        if (fds > maxFdsPerTask) {
            return "task " + pid + " has " + fds + " fds, more than --max-fds-per-task " + maxFdsPerTask
                    + " (raise it to restore a task this large)";
        }
        if (hard >= 0 && hard != fdrestore.api.sys.Linux.RLIM_INFINITY && maxFd >= 0
                && (long) maxFd + TEMPORARY_FDS >= hard) {
            return "task " + pid + " fd " + maxFd + ": " + (maxFd >= hard ? "at or past" : "within " + TEMPORARY_FDS
                    + " fds (the restore's temporary fds) of") + " RLIMIT_NOFILE's hard limit " + hard
                    + " (ulimit -Hn; fs.nr_open bounds it): no process here can hold it";
        }
        return null;
    }

    /** How many tasks this host can take now (the smallest of the limits above). */
    public static long supported() {
        long running = running();
        long best = Long.MAX_VALUE;
        long pidMax = sysctl("kernel/pid_max");
        long threadsMax = sysctl("kernel/threads-max");
        long nproc = nproc();
        long maxMaps = sysctl("vm/max_map_count");
        long maps = maps();
        if (pidMax > 0 && running >= 0) {
            best = Math.min(best, (pidMax - running) / 2);
        }
        if (threadsMax > 0 && running >= 0) {
            best = Math.min(best, (threadsMax - running) / 2);
        }
        if (nproc > 0) {
            best = Math.min(best, nproc / 2);
        }
        if (maxMaps > 0 && maps >= 0) {
            best = Math.min(best, (maxMaps - maps) / 2);
        }
        return Math.max(0, best);
    }

    /** Kernel tasks (threads) that exist now: the total of /proc/loadavg's fourth field; -1 if unknown. */
    private static long running() {
        try {
            String[] f;
            try (java.io.InputStream in = Files.newInputStream(Path.of("/proc/loadavg"))) {
                f = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim().split(" ");
            }
            return Long.parseLong(f[3].substring(f[3].indexOf('/') + 1));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long sysctl(String name) {
        try {
            // not Files.readString: it trusts the size /proc/sys reports and reads the first byte only
            try (java.io.InputStream in = Files.newInputStream(Path.of("/proc/sys", name))) {
                return Long.parseLong(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim());
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** This user's RLIMIT_NPROC soft limit; -1 for root (exempt), unlimited or unknown. */
    private static long nproc() {
        if (Sys.geteuid() == 0) {
            return -1;
        }
        try {
            long cur = Sys.getrlimit(RLIMIT_NPROC).soft();
            return cur < 0 || cur == Long.MAX_VALUE ? -1 : cur;
        } catch (RuntimeException | fdrestore.api.sys.SysException e) {
            return -1;
        }
    }

    private static long maps() {
        try (java.util.stream.Stream<String> l = Files.lines(Path.of("/proc/self/maps"))) {
            return l.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
