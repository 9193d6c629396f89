package fdrestore.api.sys;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who holds a socket name or port that a restore could not bind (EADDRINUSE), for its error line: the
 * sockets {@code /proc/net/*} of this network namespace shows bound there, and the processes whose
 * {@code /proc/PID/fd} refer to them. Only called to word an error: it reads all of /proc.
 */
public final class SocketHolders {
    private SocketHolders() {
    }

    /**
     * ", held by pid N" (or "pids N, M") for the unix sockets bound at {@code name} as /proc/net/unix shows
     * it (a path, or "@" and an abstract name); empty when none is found (another network namespace, or
     * /proc hides them).
     */
    public static String ofUnixName(String name) {
        Set<String> inodes = new HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 8 && f[7].equals(name)) {
                    inodes.add("socket:[" + f[6] + "]");
                }
            }
        } catch (IOException | RuntimeException e) {
            return "";
        }
        return ofInodes(inodes);
    }

    /**
     * As {@link #ofUnixName}, for the TCP ({@code tcp}) or UDP sockets of either family bound to local port
     * {@code port}, whatever their address.
     */
    public static String ofInetPort(boolean tcp, int port) {
        Set<String> inodes = new HashSet<>();
        for (String table : tcp ? List.of("tcp", "tcp6") : List.of("udp", "udp6")) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/net", table))) {
                    String[] f = line.trim().split("\\s+");
                    int colon = f.length >= 10 ? f[1].lastIndexOf(':') : -1;
                    if (colon > 0 && f[1].substring(colon + 1).equalsIgnoreCase(String.format("%04X", port))
                            && !f[9].equals("0")) {
                        inodes.add("socket:[" + f[9] + "]");
                    }
                }
            } catch (IOException | RuntimeException e) {
                // no such family here
            }
        }
        return ofInodes(inodes);
    }

    /**
     * The processes with an fd on one of {@code inodes}: every /proc/PID/fd, and the fd tables of this
     * process's threads (a restore's task threads have private ones, which /proc/PID/fd does not show),
     * counted as this process.
     */
    private static String ofInodes(Set<String> inodes) {
        Set<Long> pids = new TreeSet<>();
        if (!inodes.isEmpty()) {
            long self = ProcessHandle.current().pid();
            List<Path> tables = new java.util.ArrayList<>();
            try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                procs.forEach(tables::add);
            } catch (IOException e) {
                return "";
            }
            try (DirectoryStream<Path> ts = Files.newDirectoryStream(Path.of("/proc", Long.toString(self), "task"), "[0-9]*")) {
                ts.forEach(tables::add);
            } catch (IOException e) {
                // no threads to add
            }
            for (Path table : tables) {
                long pid = table.getParent().getFileName().toString().equals("task") ? self
                        : Long.parseLong(table.getFileName().toString());
                if (pids.contains(pid)) {
                    continue;
                }
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(table.resolve("fd"))) {
                    for (Path fd : fds) {
                        try {
                            if (inodes.contains(Files.readSymbolicLink(fd).toString())) {
                                pids.add(pid);
                                break;
                            }
                        } catch (IOException e) {
                            // closed meanwhile
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // gone, or not ours to read
                }
            }
        }
        if (pids.isEmpty()) {
            return "";
        }
        return pids.size() == 1 ? ", held by pid " + pids.iterator().next() : ", held by pids "
                + pids.toString().replaceAll("[\\[\\]]", "");
    }
}
