package fdrestore.plugin.tty;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Who holds pty index N on this host, for the error that reports a taken index: every process (and every
 * thread of this JVM, whose private fd tables /proc/PID/fd does not show) with an fd on
 * {@code /dev/pts/N} (a slave) or on a ptmx whose fdinfo says {@code tty-index: N} (the master). Reads
 * /proc from the engine's thread (the JVM's own table); it opens nothing in a task table.
 */
final class IndexHolders {
    private static final int MAX_REPORTED = 4;

    private IndexHolders() {
    }

    /** A readable list of holders of {@code index} ("held by pid 12 (bash) fd 0 -> /dev/pts/3, ..."), or "". */
    static String describe(int index) {
        return describe(Path.of("/proc"), index);
    }

    static String describe(Path proc, int index) {
        List<String> found = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        int more = 0;
        List<Path> tables = new ArrayList<>();
        try (DirectoryStream<Path> ps = Files.newDirectoryStream(proc, "[0-9]*")) {
            for (Path p : ps) {
                tables.add(p);
            }
        } catch (IOException | RuntimeException e) {
            return "";
        }
        String self = Long.toString(ProcessHandle.current().pid());
        try (DirectoryStream<Path> ts = Files.newDirectoryStream(proc.resolve(self).resolve("task"), "[0-9]*")) {
            for (Path t : ts) {
                if (!t.getFileName().toString().equals(self)) {
                    tables.add(t);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no threads to add
        }
        for (Path p : tables) {
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(p.resolve("fd"))) {
                for (Path fd : fds) {
                    String link;
                    try {
                        link = Files.readSymbolicLink(fd).toString();
                    } catch (IOException | RuntimeException e) {
                        continue;
                    }
                    String what = null;
                    if (link.equals("/dev/pts/" + index) || link.endsWith("/pts/" + index)) {
                        what = link + " (a slave)";
                    } else if (link.endsWith("ptmx") && ttyIndex(p.resolve("fdinfo").resolve(fd.getFileName())) == index) {
                        what = link + " (the master, tty-index " + index + ")";
                    }
                    if (what != null && seen.add(owner(p, self) + " " + fd.getFileName() + " " + what)) {
                        if (found.size() < MAX_REPORTED) {
                            found.add(who(p, self) + " fd " + fd.getFileName() + " -> " + what);
                        } else {
                            more++;
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // gone, or not ours to read
            }
        }
        if (found.isEmpty()) {
            return "";
        }
        return "held by " + String.join(", ", found) + (more > 0 ? " and " + more + " more" : "");
    }

    /** The process a table belongs to: a thread of this JVM counts as this JVM (most share its table). */
    private static String owner(Path p, String self) {
        Path parent = p.getParent();
        return parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("task")
                ? self : p.getFileName().toString();
    }

    private static String who(Path p, String self) {
        String comm = "?";
        try {
            comm = Files.readString(p.resolve("comm")).trim();
        } catch (IOException | RuntimeException e) {
            // keep "?"
        }
        Path parent = p.getParent();
        if (parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("task")) {
            return "thread " + p.getFileName() + " (" + comm + ") of this restore's own process " + self;
        }
        return "pid " + p.getFileName() + " (" + comm + ")";
    }

    private static int ttyIndex(Path fdinfo) {
        try {
            for (String line : Files.readAllLines(fdinfo)) {
                if (line.startsWith("tty-index:")) {
                    return Integer.parseInt(line.substring("tty-index:".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return -1;
    }
}
