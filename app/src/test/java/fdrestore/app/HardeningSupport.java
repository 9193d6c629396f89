package fdrestore.app;

import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.process.Holder;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What the hardening tests check after every restore, aborted or not: this JVM's fd table, its threads,
 * its child processes, holder processes anywhere, transport sockets, and the files under --root.
 */
public final class HardeningSupport {
    private HardeningSupport() {
    }

    /** fd number -> link target of this JVM's main table. */
    public static Map<Integer, String> jvmFds() {
        try {
            return Sys.fdTargets();
        } catch (SysException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The fds that differ between two snapshots, ignoring class path jars and libraries the JVM opens on
     * first use (class loading keeps them open); empty when nothing leaked.
     */
    static List<String> fdDiff(Map<Integer, String> before, Map<Integer, String> after) {
        List<String> out = describeGained(before, FdLeaks.gained(before, after));
        before.forEach((fd, target) -> {
            if (!after.containsKey(fd) && !FdLeaks.jvmOwn(target)) {
                out.add("fd " + fd + " -> " + target + " (closed: someone else's fd was closed)");
            }
        });
        return out;
    }

    /**
     * The fds this JVM's table gained since {@code before}, described; the JVM's own (jars, cgroup files)
     * left out. Unlike {@link #fdDiff} it ignores fds closed meanwhile: a cleaner may close an earlier
     * test's process pipe at any moment, so only a check that spans no such test may count closings.
     */
    public static List<String> gainedSince(Map<Integer, String> before) {
        return describeGained(before, FdLeaks.gained(before, jvmFds()));
    }

    private static List<String> describeGained(Map<Integer, String> before, Map<Integer, String> gained) {
        List<String> out = new ArrayList<>();
        gained.forEach((fd, target) -> {
            String was = before.get(fd);
            out.add("fd " + fd + " -> " + target + (was == null ? " (new)" : " (was " + was + ")"));
        });
        return out;
    }

    /** Threads of this JVM that are task executors (each holds a private fd table). */
    static List<String> executorThreads() {
        List<String> out = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("fdrestore-task-") && t.isAlive()) {
                out.add(t.getName());
            }
        }
        return out;
    }

    /** Processes anywhere on the machine running this JVM's holder binary (a private copy per JVM). */
    static List<Long> holderProcesses() {
        String holder = Holder.path();
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
                .chars().allMatch(Character::isDigit))) {
            for (Path p : s) {
                try {
                    String exe = Files.readSymbolicLink(p.resolve("exe")).toString();
                    if (exe.equals(holder) || exe.equals(holder + " (deleted)")) {
                        String st = Files.readString(p.resolve("stat"));
                        long pid = Long.parseLong(p.getFileName().toString());
                        long ppid = Long.parseLong(st.substring(st.lastIndexOf(')') + 2).split(" ")[1]);
                        // a zombie whose parent is not this JVM is init's to reap: it holds nothing
                        if (st.charAt(st.lastIndexOf(')') + 2) != 'Z' || ppid == ProcessHandle.current().pid()) {
                            out.add(pid);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // gone, or a kernel thread
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Live children of this JVM (zombies included: an unreaped child is a leak too). */
    static List<Long> children() {
        return ProcessHandle.current().children().map(ProcessHandle::pid).toList();
    }

    /**
     * inode -> name of every socket named {@code @fdrestore-*} in /proc/net/unix and in the transport's
     * private network namespace (listed by its thread, {@code fdrestore-transport-netns}, when it exists).
     */
    static Map<Long, String> transportSockets() {
        Map<Long, String> m = new TreeMap<>();
        List<Path> lists = new ArrayList<>(List.of(Path.of("/proc/net/unix")));
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    if (Files.readString(t.resolve("comm")).startsWith("fdrestore-trans")) {
                        lists.add(t.resolve("net/unix"));
                    }
                } catch (IOException e) {
                    // thread ended
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (Path list : lists) {
            try {
                for (String l : Files.readAllLines(list)) {
                    String[] f = l.trim().split("\\s+");
                    if (f.length >= 8 && f[7].startsWith("@fdrestore-")) {
                        m.put(Long.parseLong(f[6]), f[7]);
                    }
                }
            } catch (IOException e) {
                if (list.equals(lists.get(0))) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return m;
    }

    /** Socket inodes held by any thread's fd table of this JVM (executor threads have private tables). */
    static Set<Long> socketsHeldByJvm() {
        Set<Long> out = new HashSet<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(t.resolve("fd"))) {
                    for (Path fd : fds) {
                        try {
                            String l = Files.readSymbolicLink(fd).toString();
                            if (l.startsWith("socket:[")) {
                                out.add(Long.parseLong(l.substring(8, l.length() - 1)));
                            }
                        } catch (IOException | RuntimeException e) {
                            // closed meanwhile
                        }
                    }
                } catch (IOException e) {
                    // thread ended
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Transport sockets (@fdrestore-*) still held by a table of this JVM: a leak. */
    static List<String> leakedTransportSockets() {
        Map<Long, String> named = transportSockets();
        Set<Long> held = socketsHeldByJvm();
        List<String> out = new ArrayList<>();
        named.forEach((ino, name) -> {
            if (held.contains(ino)) {
                out.add(name + " (inode " + ino + ")");
            }
        });
        return out;
    }

    /**
     * Every entry under {@code root}: regular files with their SHA-256, size and mtime, others with their
     * type. Equal before and after means nothing was created, removed or changed.
     */
    static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "symlink " + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, "file " + sha256(p) + " " + Files.size(p) + " "
                            + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis());
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, "dir");
                } else {
                    out.put(rel, "other " + Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS));
                }
            }
        }
        return out;
    }

    /**
     * Removes the socket files under {@code root} that {@code pristine} does not have: a successful restore
     * binds the sockets the images name, and leaves their files as the original tree did.
     */
    static void removeNewSockets(Path root, Map<String, String> pristine) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                if (!pristine.containsKey(rel) && !Files.isSymbolicLink(p) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                        && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                        && (((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 0170000) == 0140000) {
                    Files.delete(p);
                }
            }
        }
    }

    static String sha256(Path p) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(p)) {
                byte[] buf = new byte[65536];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Everything a finished restore (aborted, or stopped with --then=kill) must have left as it was; an
     * empty list when all is clean. {@code fdsBefore} and {@code rootBefore} are snapshots taken before it.
     */
    static List<String> leftovers(Map<Integer, String> fdsBefore, Path root, Map<String, String> rootBefore)
            throws IOException {
        List<String> out = new ArrayList<>();
        fdDiff(fdsBefore, jvmFds()).forEach(d -> out.add("JVM fd table: " + d));
        executorThreads().forEach(t -> out.add("executor thread alive: " + t));
        children().forEach(c -> out.add("child process alive: " + c + " " + ProcessHandle.of(c)
                .flatMap(h -> h.info().commandLine()).orElse("")));
        // A process killed by the restore's rollback (SIGKILL) ends asynchronously: give it a moment to go.
        List<Long> holders = holderProcesses();
        for (int i = 0; i < 300 && !holders.isEmpty(); i++) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            holders = holderProcesses();
        }
        holders.forEach(p -> out.add("holder process alive: " + p + " " + ProcessHandle.of(p)
                .flatMap(h -> h.info().commandLine()).orElse("")));
        leakedTransportSockets().forEach(s -> out.add("transport socket left: " + s));
        if (root != null) {
            Map<String, String> now = tree(root);
            if (!now.equals(rootBefore)) {
                Map<String, String> diff = new TreeMap<>();
                now.forEach((k, v) -> {
                    if (!v.equals(rootBefore.get(k))) {
                        diff.put(k, rootBefore.get(k) + " -> " + v);
                    }
                });
                rootBefore.forEach((k, v) -> {
                    if (!now.containsKey(k)) {
                        diff.put(k, v + " -> (gone)");
                    }
                });
                out.add("files under --root changed: " + diff);
            }
        }
        return out;
    }
}
