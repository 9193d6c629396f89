package fdrestore.core.restore;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.process.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks restored processes against their images, through /proc and kcmp: every fd number present and
 * no other, FD_CLOEXEC, and sharing (fds of one file id are one open file description; different file
 * ids on one kernel object are different ones). Each fd's kind checks the rest of it ({@code
 * FileKind.verify}: what its link shows, its open flags, position and state), and the files of one kernel
 * object ({@code FileKind.object}, a pipe) must be on one object again, those of different ones on
 * different objects. It also checks the process tree: each task's parent, process group and session are
 * the restored processes of the image's ones (a root's parent, outside the images, is not checked), tasks
 * that shared one fd table (CLONE_FILES) share one again (kcmp KCMP_FILES), and each task's cwd is its
 * recorded one under the root.
 */
public final class Verifier {
    private final ImageSet images;
    private final Path root;

    /** The verdict: every mismatch as a readable line, and what was checked. */
    public record Report(List<String> mismatches, int fdsChecked, int tasksChecked, int kcmpChecks) {
        public boolean ok() {
            return mismatches.isEmpty();
        }
    }

    /** A verifier of the tree and the fd tables alone: no kind checks its fds. */
    public Verifier(ImageSet images, Path root) {
        this(images, root, List.of());
    }

    /** A verifier whose kinds check their own fds ({@code FileKind.verify}, {@code FileKind.object}). */
    public Verifier(ImageSet images, Path root, java.util.Collection<? extends FileKind> kinds) {
        this.images = images;
        this.root = root;
        this.kinds = FileKind.byType(kinds);
    }

    private final Map<FdType, FileKind> kinds;

    /** Files the restore took from the caller's fds ({@code --inherit-fd}). */
    private InheritFds inherit = InheritFds.none();

    /**
     * Files taken from the caller's fds are the caller's: their numbers and sharing are checked, not their
     * kind, path, flags or position.
     */
    public Verifier inheritFds(InheritFds fds) {
        this.inherit = fds == null ? InheritFds.none() : fds;
        return this;
    }

    private record Seen(int pid, int fd, long dev, long ino) {
    }

    /** Verifies the tasks of {@code pidMap} (image pid to real pid). */
    public Report verify(Map<Integer, Integer> pidMap) {
        return verify(pidMap, Map.of());
    }

    /**
     * Verifies the tasks of {@code pidMap}; {@code extraFds} (real pid to fd) names the one fd a task may hold
     * beyond its images while it waits to start its command (see {@link Restorer#atGate}).
     */
    public Report verify(Map<Integer, Integer> pidMap, Map<Integer, Integer> extraFds) {
        List<String> out = new ArrayList<>();
        int fdsChecked = 0;
        int kcmps = 0;
        Map<Long, List<Seen>> byFile = new HashMap<>();
        for (Task t : images.tasks()) {
            Integer pid = pidMap.get(t.pid());
            String who = "task " + t.pid() + " (pid " + pid + ")";
            if (pid == null) {
                out.add(who + ": no restored process");
                continue;
            }
            Set<Integer> actual = new TreeSet<>();
            try (var s = Files.list(Path.of("/proc", pid.toString(), "fd"))) {
                s.forEach(p -> actual.add(Integer.parseInt(p.getFileName().toString())));
            } catch (IOException e) {
                out.add(who + ": cannot list its fds: " + e.getMessage());
                continue;
            }
            Set<Integer> expected = new TreeSet<>();
            for (Fd fd : t.fds()) {
                expected.add(fd.fd());
            }
            Integer extra = extraFds.get(pid);
            if (extra != null && !expected.contains(extra)) {
                actual.remove(extra);
            }
            for (int fd : actual) {
                if (!expected.contains(fd)) {
                    out.add(who + " fd " + fd + ": open, but not in the images (" + link(pid, fd) + ")");
                }
            }
            for (Fd fd : t.fds()) {
                String where = who + " fd " + fd.fd();
                if (!actual.contains(fd.fd())) {
                    out.add(where + ": missing");
                    continue;
                }
                fdsChecked++;
                FileEntry f = images.file(fd.fileId()).orElseThrow();
                if (inherit.fdFor(f, images, kinds) == null) {
                    checkOne(where, pid, fd, f, out);
                }
                long[] id = identity(pid, fd.fd());
                byFile.computeIfAbsent(fd.fileId(), k -> new ArrayList<>()).add(new Seen(pid, fd.fd(), id[0], id[1]));
            }
        }
        checkTree(pidMap, out);
        // Sharing: one file id = one open file description.
        for (Map.Entry<Long, List<Seen>> e : byFile.entrySet()) {
            List<Seen> l = e.getValue();
            for (int i = 1; i < l.size(); i++) {
                kcmps++;
                if (!sameFile(l.get(0), l.get(i))) {
                    out.add("file " + e.getKey() + ": " + desc(l.get(0)) + " and " + desc(l.get(i))
                            + " should be one open file (kcmp KCMP_FILE differs)");
                }
            }
        }
        // Different file ids on one kernel object (two opens of one path, two ends of a pipe) stay different.
        Map<String, Long> objects = new HashMap<>();
        for (Map.Entry<Long, List<Seen>> e : byFile.entrySet()) {
            Seen first = e.getValue().get(0);
            if (first.ino == 0) {
                continue;
            }
            String key = first.dev + ":" + first.ino;
            Long other = objects.putIfAbsent(key, e.getKey());
            if (other != null) {
                Seen o = byFile.get(other).get(0);
                kcmps++;
                if (sameFile(first, o)) {
                    out.add("files " + other + " and " + e.getKey() + ": " + desc(o) + " and " + desc(first)
                            + " should be different open files, but kcmp says they are one");
                }
            }
        }
        // Kernel objects (a pipe): the files of one are on one inode again, those of different ones are not.
        Map<FileKind.KernelObject, Long> objectInode = new HashMap<>();
        Map<String, FileKind.KernelObject> inodeObject = new HashMap<>();
        FileKind.objects(images, kinds).forEach((object, fileIds) -> {
            for (long fid : fileIds) {
                List<Seen> l = byFile.get(fid);
                if (l == null) {
                    continue;
                }
                long ino = l.get(0).ino;
                Long prev = objectInode.putIfAbsent(object, ino);
                if (prev != null && prev != ino) {
                    out.add(object + ": its files are on different " + object.noun() + "s (inodes " + prev + " and "
                            + ino + ")");
                }
                var o2 = inodeObject.putIfAbsent(object.noun() + ":" + ino, object);
                if (o2 != null && !o2.equals(object)) {
                    out.add(object.noun() + "s " + o2.id() + " and " + object.id() + " were restored as one "
                            + object.noun() + " (inode " + ino + ")");
                }
            }
        });
        return new Report(List.copyOf(out), fdsChecked, pidMap.size(), kcmps);
    }

    private void checkTree(Map<Integer, Integer> pidMap, List<String> out) {
        Map<Long, Task> firstOfTable = new HashMap<>();
        for (Task t : images.tasks()) {
            Integer pid = pidMap.get(t.pid());
            if (pid == null) {
                continue;
            }
            long[] st;
            try {
                st = Processes.stat(pid);
            } catch (IOException | RuntimeException e) {
                out.add("task " + t.pid() + " (pid " + pid + "): cannot read its /proc stat: " + e.getMessage());
                continue;
            }
            String who = "task " + t.pid() + " (pid " + pid + ")";
            check(out, who, "parent", t.ppid(), st[1], pidMap);
            check(out, who, "process group", t.pgid(), st[2], pidMap);
            check(out, who, "session", t.sid(), st[3], pidMap);
            checkCwd(out, who, t, pid);
            // One fd table per files_id: tasks that shared one (CLONE_FILES) share it again, others do not.
            Task first = firstOfTable.computeIfAbsent(t.filesId(), k -> t);
            Integer firstPid = pidMap.get(first.pid());
            if (first != t && firstPid != null && !sameTable(firstPid, pid)) {
                out.add(who + ": should share the fd table of task " + first.pid() + " (pid " + firstPid + ", files_id "
                        + t.filesId() + "), but kcmp KCMP_FILES differs");
            }
            Integer parentPid = pidMap.get(t.ppid());
            Task parent = images.task(t.ppid()).orElse(null);
            if (parent != null && parent.filesId() != t.filesId() && parentPid != null && sameTable(parentPid, pid)) {
                out.add(who + ": shares the fd table of its parent (pid " + parentPid + "), but the images give them "
                        + "different files_ids");
            }
        }
    }

    /** The task's working directory is its recorded one under the root, when that exists there. */
    private void checkCwd(List<String> out, String who, Task t, int pid) {
        String cwd = TaskLaunches.recordedCwd(images, t);
        if (cwd == null) {
            return;
        }
        Path want = root.resolve(Path.of("/").resolve(cwd).normalize().toString().substring(1));
        if (!Files.isDirectory(want)) {
            return; // started in the root instead (--cwd-fallback)
        }
        try {
            Path have = Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "cwd"));
            if (!have.equals(want.toRealPath())) {
                out.add(who + ": its cwd is " + have + ", expected " + want + " (" + cwd + " under the root)");
            }
        } catch (IOException e) {
            out.add(who + ": cannot read its cwd: " + e.getMessage());
        }
    }

    private static boolean sameTable(int a, int b) {
        try {
            return Sys.kcmp(a, b, Linux.KCMP_FILES, 0, 0) == 0;
        } catch (SysException e) {
            return false;
        }
    }

    private void check(List<String> out, String who, String what, int imageId, long actual, Map<Integer, Integer> pidMap) {
        Integer expected = pidMap.get(imageId);
        if (expected != null && expected != actual) {
            out.add(who + ": " + what + " is pid " + actual + ", expected pid " + expected + " (task " + imageId + ")");
        }
    }

    private static String desc(Seen s) {
        return "pid " + s.pid + " fd " + s.fd;
    }

    private static boolean sameFile(Seen a, Seen b) {
        try {
            return Sys.kcmp(a.pid, b.pid, Linux.KCMP_FILE, a.fd, b.fd) == 0;
        } catch (SysException e) {
            return false;
        }
    }

    private static long[] identity(int pid, int fd) {
        try {
            Object key = Files.readAttributes(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd)),
                    BasicFileAttributes.class).fileKey();
            // fileKey() prints "(dev=…,ino=…)"
            String k = String.valueOf(key);
            long dev = Long.parseLong(k.replaceAll(".*dev=([0-9a-f]+).*", "$1"), 16);
            long ino = Long.parseLong(k.replaceAll(".*ino=([0-9]+).*", "$1"));
            return new long[] {dev, ino};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    private static String link(int pid, int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd))).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    private void checkOne(String where, int pid, Fd fd, FileEntry f, List<String> out) {
        Fdinfo info;
        try {
            info = Fdinfo.parse(Files.readString(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(fd.fd()))));
        } catch (NoSuchFileException e) {
            out.add(where + ": vanished while verifying");
            return;
        } catch (IOException e) {
            out.add(where + ": cannot read fdinfo: " + e.getMessage());
            return;
        }
        String link = link(pid, fd.fd());
        int flags = info.number("flags", 8).isPresent() ? info.flags() : 0;
        boolean cloexec = (flags & Linux.O_CLOEXEC) != 0;
        if (cloexec != fd.cloexec()) {
            out.add(where + ": FD_CLOEXEC " + (fd.cloexec() ? "expected" : "not expected") + " but "
                    + (cloexec ? "set" : "clear"));
        }
        // The rest is the kind's: what the link shows, flags, position, its own state.
        FileKind k = fd.type() == null ? null : kinds.get(fd.type());
        if (k != null) {
            try {
                for (String m : k.verify(f, link, info, images, root)) {
                    out.add(where + ": " + m);
                }
            } catch (RuntimeException | LinkageError e) {
                out.add(where + ": " + k.name() + " cannot check it: " + e);
            }
        }
    }
}
