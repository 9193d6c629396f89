package fdrestore.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fd tables of live processes in the normalised form of the samples' {@code expected.norm} (the
 * format {@code images-samples/criu-4.2/snap.py} writes): kernel object identities become labels numbered
 * in (task, fd) order, and only stable fdinfo fields are kept. Tasks are keyed by their image pid, so a
 * restored tree compares line for line with the original one.
 */
public final class FdSnapshot {
    private static final List<String> KEEP = List.of("pos", "flags", "tfd", "clockid", "it_interval", "settime flags",
            "eventfd-count", "inotify", "fanotify", "tty", "scm_fds", "lock");
    /** A lock line of fdinfo: "lock: N: KIND MODE RW PID MAJ:MIN:INO START END". */
    private static final Pattern LOCK = Pattern.compile("^(lock: \\d+: \\S+ \\S+ \\S+ )(-?\\d+) (\\S+:\\S+:\\d+)( .*)$");
    private static final Pattern OBJECT = Pattern.compile("^(pipe|socket|anon_inode:\\[?[a-z_]+\\]?)(:\\[(\\d+)\\])?$");

    private FdSnapshot() {
    }

    /**
     * Snapshots the fd tables of {@code tasks} (image pid to real pid, in the order of the expected file:
     * breadth first from the root). Paths under {@code root} are shown as the images name them.
     */
    public static Map<Integer, List<String>> take(Map<Integer, Integer> tasks, Path root) throws IOException {
        return take(tasks, root, (pid, fd) -> true);
    }

    /**
     * As {@link #take(Map, Path)}, keeping only the fds {@code keep} accepts (image pid, fd): a table that
     * holds more than the images' fds (an executor thread's, which also holds the JVM's) shows only those.
     */
    public static Map<Integer, List<String>> take(Map<Integer, Integer> tasks, Path root,
                                                  BiPredicate<Integer, Integer> keep) throws IOException {
        Map<String, String> labels = new HashMap<>();
        Map<Integer, List<String>> out = new LinkedHashMap<>();
        Map<Integer, Integer> imagePids = new HashMap<>();
        tasks.forEach((image, real) -> imagePids.put(real, image));
        String prefix = root == null || root.toString().equals("/") ? null : root.toAbsolutePath().normalize().toString();
        for (Map.Entry<Integer, Integer> t : tasks.entrySet()) {
            int pid = t.getValue();
            List<String> lines = new ArrayList<>();
            int[] fds;
            try (var s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
                fds = s.mapToInt(p -> Integer.parseInt(p.getFileName().toString())).sorted().toArray();
            }
            for (int fd : fds) {
                if (!keep.test(t.getKey(), fd)) {
                    continue;
                }
                String target;
                List<String> info;
                try {
                    target = Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd))).toString();
                    info = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(fd)));
                } catch (java.nio.file.NoSuchFileException e) {
                    continue;
                }
                if (prefix != null && target.startsWith(prefix + "/")) {
                    target = target.substring(prefix.length());
                }
                Matcher m = OBJECT.matcher(target);
                String ntgt = target;
                if (m.matches() && m.group(2) != null) {
                    String key = target;
                    String label = labels.get(key);
                    if (label == null) {
                        label = m.group(1) + "#" + (labels.size() + 1);
                        labels.put(key, label);
                    }
                    ntgt = label;
                }
                List<String> kept = new ArrayList<>();
                List<String> tfds = new ArrayList<>();
                for (String line : info) {
                    String k = line.split(":", 2)[0].strip();
                    if (!KEEP.contains(k)) {
                        continue;
                    }
                    String l = line.strip().replaceAll("\\s+", " ");
                    l = l.replaceAll("\\bino:\\s*\\S+", "ino:*").replaceAll("\\bsdev:\\s*\\S+", "sdev:*");
                    if (k.equals("tfd")) {
                        tfds.add(l.replaceAll(" pos:\\S+", ""));
                    } else if (k.equals("lock")) {
                        kept.add(lock(l, imagePids));
                    } else {
                        kept.add(l);
                    }
                }
                tfds.sort(null);
                kept.addAll(tfds);
                lines.add("  fd " + fd + " -> " + ntgt + " | " + String.join(" ; ", kept));
            }
            out.put(t.getKey(), lines);
        }
        return out;
    }

    private static final Pattern LOCK_IN_LINE =
            Pattern.compile("(lock: \\d+: \\S+ \\S+ \\S+ )(-?\\d+) (\\S+:\\S+:\\d+)((?: \\S+){2})");

    /**
     * A lock line as the images would name it: the owner's real pid becomes its image pid (a pid outside
     * the restored tree stays as it is) and the device and inode, which belong to the host, become "*".
     */
    private static String lock(String line, Map<Integer, Integer> imagePids) {
        Matcher m = LOCK.matcher(line);
        if (!m.matches()) {
            return line;
        }
        int pid = Integer.parseInt(m.group(2));
        return m.group(1) + imagePids.getOrDefault(pid, pid) + " *" + m.group(4);
    }

    /** The fd lines of each task of an {@code expected.norm} file, keyed by image pid, in file order. */
    public static Map<Integer, List<String>> readExpected(Path expectedNorm) throws IOException {
        Map<Integer, List<String>> out = new LinkedHashMap<>();
        List<String> cur = null;
        for (String line : Files.readAllLines(expectedNorm)) {
            if (line.startsWith("PID ")) {
                cur = new ArrayList<>();
                out.put(Integer.parseInt(line.split(" ")[1]), cur);
            } else if (line.startsWith("  fd ") && cur != null) {
                cur.add(LOCK_IN_LINE.matcher(line).replaceAll("$1$2 *$4"));
            }
        }
        return out;
    }

    /** A readable diff of two snapshots ("" when equal). */
    public static String diff(Map<Integer, List<String>> expected, Map<Integer, List<String>> actual) {
        StringBuilder sb = new StringBuilder();
        if (!expected.keySet().equals(actual.keySet()) || !Arrays.equals(expected.keySet().toArray(), actual.keySet().toArray())) {
            sb.append("tasks differ: expected ").append(expected.keySet()).append(", got ").append(actual.keySet()).append('\n');
        }
        for (Map.Entry<Integer, List<String>> e : expected.entrySet()) {
            List<String> a = actual.getOrDefault(e.getKey(), List.of());
            if (!e.getValue().equals(a)) {
                sb.append("task ").append(e.getKey()).append(":\n");
                for (String l : e.getValue()) {
                    if (!a.contains(l)) {
                        sb.append("  - ").append(l.strip()).append('\n');
                    }
                }
                for (String l : a) {
                    if (!e.getValue().contains(l)) {
                        sb.append("  + ").append(l.strip()).append('\n');
                    }
                }
                if (sb.toString().endsWith(":\n")) {
                    sb.append("  (same lines, different order)\n");
                }
            }
        }
        return sb.toString();
    }
}
