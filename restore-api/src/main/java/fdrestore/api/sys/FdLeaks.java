package fdrestore.api.sys;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Leak checks on this process's own fd table, in a JVM where other threads open and close fds at any
 * time: the class loader opens jars, the container support reads cgroup files, cleaners close streams.
 * A check takes {@link Sys#fdTargets} before, and asks afterwards what was {@link #gainedSince gained}:
 * an fd whose number is new, or that refers to something else now (a number freed meanwhile may have
 * been reused), leaving out the JVM's own files.
 */
public final class FdLeaks {
    private FdLeaks() {
    }

    /** The fds gained since {@code before} (a {@link Sys#fdTargets} snapshot), with what each refers to. */
    public static SortedMap<Integer, String> gainedSince(Map<Integer, String> before) throws SysException {
        return gained(before, Sys.fdTargets());
    }

    /** The fds of {@code after} that {@code before} lacks or that refer to something else now, minus the JVM's own. */
    public static SortedMap<Integer, String> gained(Map<Integer, String> before, Map<Integer, String> after) {
        SortedMap<Integer, String> gained = new TreeMap<>();
        after.forEach((fd, target) -> {
            if (!target.equals(before.get(fd)) && !jvmOwn(target)) {
                gained.put(fd, target);
            }
        });
        return gained;
    }

    /**
     * True for what the JVM opens on its own threads: jars and shared libraries (class and library
     * loading), the runtime image, cgroup files (container support) and fd directory listings.
     */
    public static boolean jvmOwn(String target) {
        String t = target.endsWith(" (deleted)") ? target.substring(0, target.length() - 10) : target;
        return t.endsWith(".jar") || t.endsWith(".so") || t.endsWith("/lib/modules") || t.startsWith("/sys/fs/cgroup/")
                || t.startsWith("/proc/") && t.endsWith("/fd");
    }
}
