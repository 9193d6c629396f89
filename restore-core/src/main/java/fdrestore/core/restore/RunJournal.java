package fdrestore.core.restore;

import fdrestore.api.spi.Journal;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.KernelRandom;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The journal of one restore: a directory of its own under the run directory ({@link #base}), holding
 * {@code run} (this process's pid and start time, so that a dead run is told from a live one, pid reuse
 * included) and {@code journal}, one line per step, each on disk (O_DSYNC) before the step is taken:
 * <pre>
 * making KIND EPOCH_NS PATH     before the entry is made
 * made KIND DEV INO GEN PATH    once it exists (GEN: a file's inode generation, FS_IOC_GETVERSION, or -1)
 * gone PATH                     once it is removed again (or was never made)
 * freezing PATH                 before a dump freezes the cgroup PATH (a dump's journal)
 * thawed PATH                   once it thawed it again
 * </pre>
 * A restore that completes, or fails and cleans up after itself, drops its directory ({@link #close}); so
 * does a dump once its cgroup is thawed. A cgroup a dead run froze and did not thaw is thawed by cleanup.
 * {@link #cleanup} finds the directories of dead runs and removes what their journals say they made and
 * did not remove: only an entry still of the recorded type and, when recorded, the same inode (for a file,
 * of the same generation too where the file system keeps one: ext4 gives a file the user made after the
 * run's was deleted the same inode number at once); a socket
 * file only once no socket is bound to it; a directory only while empty. An entry whose inode was never
 * recorded (the run died between the two lines) is removed only if it changed no earlier than its
 * {@code making} line.
 */
public final class RunJournal implements Journal, AutoCloseable {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;
    /** The kernel stamps ctime with a coarse clock: an entry may look up to this much older than its line. */
    private static final long CTIME_SLACK_NS = 1_000_000_000L;
    private static final Pattern TREE_CGROUP = Pattern.compile("fdrestore-([0-9]+)-[0-9a-f]+");

    private final Path dir;
    private final FileChannel out;

    /**
     * One entry a cleanup removed, or kept (with the reason in {@code line}); {@code housekeeping} for what
     * is not a user's concern (an empty cgroup of a dead fdrestore), which a restore only logs.
     */
    public record Cleaned(boolean removed, String line, boolean housekeeping) {
        public Cleaned(boolean removed, String line) {
            this(removed, line, false);
        }

        @Override
        public String toString() {
            return line;
        }
    }

    private RunJournal(Path dir, FileChannel out) {
        this.dir = dir;
        this.out = out;
    }

    /**
     * The run directory for environment {@code env}: {@code FDRESTORE_RUN_DIR}, else /run/fdrestore/runs for
     * root, else $XDG_RUNTIME_DIR/fdrestore/runs, else /tmp/fdrestore-UID/runs.
     */
    public static Path base(Map<String, String> env) {
        String dir = env.get("FDRESTORE_RUN_DIR");
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir);
        }
        int uid = Sys.geteuid();
        if (uid == 0) {
            return Path.of("/run/fdrestore/runs");
        }
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isEmpty()) {
            return Path.of(xdg, "fdrestore", "runs");
        }
        return Path.of("/tmp", "fdrestore-" + uid, "runs");
    }

    /** Opens a new journal for a restore of this process under {@code base}. */
    public static RunJournal open(Path base) throws IOException {
        mkdirs(base);
        long pid = ProcessHandle.current().pid();
        String start = startTime(pid);
        Path dir = Files.createDirectory(base.resolve(pid + "-" + start + "-"
                        + Long.toHexString(KernelRandom.nextLong() & 0xffffffffL)),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(dir.resolve("run"), pid + " " + start + "\n");
        FileChannel ch = FileChannel.open(dir.resolve("journal"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND, StandardOpenOption.DSYNC);
        return new RunJournal(dir, ch);
    }

    private static void mkdirs(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            return;
        }
        if (p.getParent() != null) {
            mkdirs(p.getParent());
        }
        try {
            Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // made meanwhile by another run
        }
    }

    /** This journal's directory. */
    public Path dir() {
        return dir;
    }

    @Override
    public void making(Entry entry, Path path) throws IOException {
        Instant now = Instant.now();
        append("making " + entry + " " + (now.getEpochSecond() * 1_000_000_000L + now.getNano()) + " " + escape(path));
    }

    @Override
    public void made(Entry entry, Path path) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
        append("made " + entry + " " + a.get("dev") + " " + a.get("ino") + " "
                + (entry == Entry.FILE ? generation(path) : -1) + " " + escape(path));
    }

    @Override
    public void gone(Path path) {
        try {
            append("gone " + escape(path));
        } catch (IOException e) {
            // cleanup then finds the entry missing, or not ours: nothing is removed by mistake
        }
    }

    /**
     * A dump is about to freeze cgroup {@code cg} ({@code cgroup.freeze}): if its fdrestore dies with the
     * cgroup still frozen, and its watchdog with it, cleanup thaws the cgroup. On disk when this returns.
     */
    public void freezing(Path cg) throws IOException {
        append("freezing " + escape(cg));
    }

    /** The cgroup of {@link #freezing} is thawed again: nothing to do for it. */
    public void thawed(Path cg) {
        try {
            append("thawed " + escape(cg));
        } catch (IOException e) {
            // cleanup then thaws a cgroup that is not frozen: a no-op
        }
    }

    private synchronized void append(String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /**
     * The restore is over. It either completed (what it made and left belongs to the restored tree) or
     * failed and removed what it made: either way nothing is left to clean up, and the journal goes. On
     * failure, anything it recorded and did not remove is removed first (the plugins' own rollback should
     * have left nothing); returns what that removed or kept, empty normally.
     */
    public List<Cleaned> close(boolean completed) {
        List<Cleaned> report = List.of();
        try {
            out.close();
        } catch (IOException e) {
            // the lines are on disk already (O_DSYNC)
        }
        try {
            if (!completed) {
                report = undo(dir);
            }
            drop(dir);
        } catch (IOException e) {
            report = List.of(new Cleaned(false, "kept the journal " + dir + ": " + e.getMessage()));
        }
        return report;
    }

    @Override
    public void close() {
        close(false);
    }

    /**
     * Removes what dead runs under {@code base} left (see the class comment), and the empty tree cgroups
     * of dead fdrestore processes. Live runs are not touched. Returns one line per entry removed or kept.
     */
    public static List<Cleaned> cleanup(Path base) {
        List<Cleaned> report = new ArrayList<>();
        if (Files.isDirectory(base)) {
            try (DirectoryStream<Path> runs = Files.newDirectoryStream(base)) {
                for (Path run : runs) {
                    String[] id;
                    try {
                        id = Files.readString(run.resolve("run")).trim().split(" ");
                    } catch (IOException e) {
                        continue; // being made (the run file comes right after the directory) or not ours
                    }
                    if (id.length != 2 || alive(Long.parseLong(id[0]), id[1])) {
                        continue;
                    }
                    // It never completed: a tree it left (released before fdrestore died) is not a result.
                    report.addAll(killTrees(id[0]));
                    for (Cleaned d : undo(run)) {
                        report.add(new Cleaned(d.removed(), "run " + id[0] + " (dead): " + d.line()));
                    }
                    try {
                        drop(run);
                    } catch (IOException e) {
                        report.add(new Cleaned(false, "run " + id[0] + " (dead): kept its journal " + run + ": "
                                + e.getMessage()));
                    }
                }
            } catch (IOException | RuntimeException e) {
                report.add(new Cleaned(false, "cannot read the run directory " + base + ": " + e.getMessage()));
            }
        }
        report.addAll(sweepCgroups());
        return report;
    }

    /**
     * Kills the processes of the tree cgroups fdrestore-PID-* of a run that died before it completed (its
     * holders were released, so fdrestore's death did not end them), and removes the cgroups.
     */
    private static List<Cleaned> killTrees(String pid) {
        List<Cleaned> report = new ArrayList<>();
        Path parent = TreeCgroup.ownCgroup();
        if (parent == null || !Files.isDirectory(parent)) {
            return report;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, "fdrestore-" + pid + "-*")) {
            for (Path cg : s) {
                if (!TREE_CGROUP.matcher(cg.getFileName().toString()).matches()) {
                    continue;
                }
                try {
                    int n = Files.readAllLines(cg.resolve("cgroup.procs")).size();
                    if (n == 0) {
                        continue; // swept below once empty
                    }
                    Files.writeString(cg.resolve("cgroup.kill"), "1");
                    long deadline = System.nanoTime() + 5_000_000_000L;
                    while (!Files.readString(cg.resolve("cgroup.events")).contains("populated 0")
                            && System.nanoTime() < deadline) {
                        Thread.sleep(5);
                    }
                    report.add(new Cleaned(true, "stopped the " + n + " processes it had released (cgroup " + cg + ")"));
                } catch (IOException e) {
                    report.add(new Cleaned(false, "kept the processes of " + cg + ": " + e.getMessage()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } catch (IOException e) {
            // not listable: nothing to stop
        }
        return report;
    }

    /** Empty cgroups fdrestore-PID-* beside this process's, of an fdrestore PID that is no more. */
    private static List<Cleaned> sweepCgroups() {
        List<Cleaned> report = new ArrayList<>();
        Path parent = TreeCgroup.ownCgroup();
        if (parent == null || !Files.isDirectory(parent)) {
            return report;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, "fdrestore-*")) {
            for (Path cg : s) {
                Matcher m = TREE_CGROUP.matcher(cg.getFileName().toString());
                if (!m.matches() || Files.exists(Path.of("/proc", m.group(1)))) {
                    continue;
                }
                try {
                    String events = Files.readString(cg.resolve("cgroup.events"));
                    if (events.contains("populated 0")) {
                        Files.delete(cg); // rmdir: fails if a process joined meanwhile
                        report.add(new Cleaned(true, "removed the empty cgroup " + cg + " of dead fdrestore " + m.group(1),
                                true));
                    }
                } catch (IOException e) {
                    // populated, or gone meanwhile: a detached tree keeps its cgroup
                }
            }
        } catch (IOException e) {
            // not listable: nothing to sweep
        }
        return report;
    }

    private static boolean alive(long pid, String start) {
        try {
            return startTime(pid).equals(start);
        } catch (IOException e) {
            return false;
        }
    }

    /** Field 22 of /proc/PID/stat: the start time in clock ticks since boot. */
    private static String startTime(long pid) throws IOException {
        String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
        return f[19];
    }

    private static void drop(Path run) throws IOException {
        Files.deleteIfExists(run.resolve("journal"));
        Files.deleteIfExists(run.resolve("run"));
        Files.deleteIfExists(run);
    }

    /** One journal entry's state: what it is, when it was about to be made, its inode once made. */
    private static final class State {
        Entry entry;
        long makingNs;
        String dev;
        String ino;
        long generation = -1;
        boolean gone;
    }

    /** Removes, newest first, what the journal in {@code run} says was made and not removed. */
    private static List<Cleaned> undo(Path run) {
        List<Cleaned> report = new ArrayList<>();
        Map<String, State> states = new LinkedHashMap<>();
        Set<String> frozen = new LinkedHashSet<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(run.resolve("journal"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return report;
        }
        for (String l : lines) {
            String[] f = l.split(" ", l.startsWith("made ") ? 6 : l.startsWith("making ") ? 4 : 2);
            try {
                switch (f[0]) {
                    case "making" -> {
                        State s = new State();
                        s.entry = Entry.valueOf(f[1]);
                        s.makingNs = Long.parseLong(f[2]);
                        String p = unescape(f[3]);
                        states.remove(p); // a path made again: its newest record counts, in its new place
                        states.put(p, s);
                    }
                    case "made" -> {
                        State s = states.get(unescape(f[5]));
                        if (s != null) {
                            s.dev = f[2];
                            s.ino = f[3];
                            s.generation = Long.parseLong(f[4]);
                        }
                    }
                    case "gone" -> {
                        State s = states.get(unescape(f[1]));
                        if (s != null) {
                            s.gone = true;
                        }
                    }
                    case "freezing" -> frozen.add(unescape(f[1]));
                    case "thawed" -> frozen.remove(unescape(f[1]));
                    default -> {
                        // a line cut short by the death of its run: nothing was made after it
                    }
                }
            } catch (RuntimeException e) {
                // a torn last line: ignored
            }
        }
        for (String cg : frozen) {
            Cleaned r = thaw(Path.of(cg));
            if (r != null) {
                report.add(r);
            }
        }
        List<Map.Entry<String, State>> open = new ArrayList<>(states.entrySet());
        for (int i = open.size() - 1; i >= 0; i--) {
            State s = open.get(i).getValue();
            if (!s.gone) {
                Cleaned r = remove(Path.of(open.get(i).getKey()), s);
                if (r != null) {
                    report.add(r);
                }
            }
        }
        return report;
    }

    /**
     * Thaws a cgroup that a dump froze and did not thaw: its fdrestore died, and its watchdog with it
     * (both killed with SIGKILL). Null when the cgroup is gone or not frozen (a reboot thawed it).
     */
    private static Cleaned thaw(Path cg) {
        Path freeze = cg.resolve("cgroup.freeze");
        try {
            if (!Files.readString(freeze).trim().equals("1")) {
                return null;
            }
            Files.writeString(freeze, "0");
            return new Cleaned(true, "thawed cgroup " + cg + ", frozen by a dump that died");
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return new Cleaned(false, "kept cgroup " + cg + " frozen: " + e.getMessage() + " (echo 0 > " + freeze + ")");
        }
    }

    /** Removes one recorded entry if it is still the run's; says what it did, or null if nothing was there. */
    private static Cleaned remove(Path p, State s) {
        String what = s.entry.name().toLowerCase(java.util.Locale.ROOT);
        Map<String, Object> a;
        try {
            a = Files.readAttributes(p, "unix:mode,dev,ino,ctime", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return new Cleaned(false, "kept " + what + " " + p + ": " + e.getMessage());
        }
        int type = (Integer) a.get("mode") & S_IFMT;
        int want = switch (s.entry) {
            case SOCKET -> S_IFSOCK;
            case FILE -> S_IFREG;
            case DIRECTORY -> S_IFDIR;
        };
        if (type != want) {
            return new Cleaned(false, "kept " + p + ": it is no longer a " + what + " (mode 0" + Integer.toOctalString((Integer) a.get("mode")) + ")");
        }
        if (s.ino != null) {
            if (!s.ino.equals(String.valueOf(a.get("ino"))) || !s.dev.equals(String.valueOf(a.get("dev")))) {
                return new Cleaned(false, "kept " + p + ": another " + what + " than the one the run made is there now");
            }
            if (s.entry == Entry.FILE && s.generation != -1 && s.generation != generation(p)) {
                // the same inode number, another generation: a user's file that reused it
                return new Cleaned(false, "kept " + p + ": another " + what + " than the one the run made is there now"
                        + " (another inode generation)");
            }
        } else {
            FileTime ct = (FileTime) a.get("ctime");
            Instant c = ct.toInstant();
            long ctimeNs = c.getEpochSecond() * 1_000_000_000L + c.getNano();
            if (ctimeNs < s.makingNs - CTIME_SLACK_NS) {
                return new Cleaned(false, "kept " + p + ": it is older than the run's attempt to make it");
            }
        }
        if (s.entry == Entry.SOCKET && bound(p)) {
            return new Cleaned(false, "kept socket " + p + ": a live socket is bound to it");
        }
        try {
            Files.delete(p);
        } catch (DirectoryNotEmptyException e) {
            return new Cleaned(false, "kept directory " + p + ": it is not empty");
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return new Cleaned(false, "kept " + what + " " + p + ": " + e.getMessage());
        }
        return new Cleaned(true, "removed " + what + " " + p);
    }

    /** True unless a datagram connect to the path finds no socket bound to it (ECONNREFUSED). */
    private static boolean bound(Path p) {
        byte[] addr;
        try {
            addr = Sys.unixPathAddress(p.toString());
        } catch (IllegalArgumentException e) {
            return true; // longer than sun_path: cannot be probed, so it is kept
        }
        int fd;
        try {
            fd = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0);
        } catch (SysException e) {
            return true;
        }
        try {
            Sys.connect(fd, addr);
            return true;
        } catch (SysException e) {
            return e.errno() != Errno.ECONNREFUSED && e.errno() != Errno.ENOENT;
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    private static String escape(Path p) {
        return p.toAbsolutePath().toString().replace("%", "%25").replace("\n", "%0A");
    }

    private static String unescape(String s) {
        return s.replace("%0A", "\n").replace("%25", "%");
    }

    /** FS_IOC_GETVERSION, _IOR('v', 1, long). */
    private static final long FS_IOC_GETVERSION = 0x80087601L;

    /**
     * The inode generation of regular file {@code p} (read with a non-blocking, no-follow open that changes
     * nothing), or -1 where the file system keeps none (tmpfs, which never reuses an inode number at once).
     */
    private static long generation(Path p) {
        int fd;
        try {
            fd = Sys.open(p.toString(), Linux.O_RDONLY | Linux.O_NOFOLLOW | Linux.O_NONBLOCK | Linux.O_CLOEXEC, 0);
        } catch (SysException e) {
            return -1;
        }
        try {
            byte[] b = new byte[8];
            Sys.ioctl(fd, FS_IOC_GETVERSION, b);
            return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.nativeOrder()).getLong();
        } catch (SysException e) {
            return -1;
        } finally {
            Sys.closeQuietly(fd);
        }
    }
}
