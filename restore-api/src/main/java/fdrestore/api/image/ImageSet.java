package fdrestore.api.image;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FsEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * One image directory: the tasks of the tree (pstree), each task's fd table (fdinfo) and the open file
 * descriptions they refer to (files.img, or the legacy per-kind images when it is absent).
 * {@link #open} reads and validates everything a restore needs, and reports every problem together.
 */
public final class ImageSet {
    private final Path dir;
    private final InventoryEntry inventory;
    private final List<Task> tasks;
    private final Map<Integer, Task> byPid;
    private final Map<Long, FileEntry> files;
    private final Map<Long, List<FdRef>> sharers;
    private final Map<Long, FdrTaskEntry> fdrTasks;
    private final Map<Magic, ImageFile> sideImages = new EnumMap<>(Magic.class);
    private final Map<String, ImageFile> perObject = new HashMap<>();
    /** Per task, the signals its core image records as blocked (tc.blk_sigset), where not 0. */
    Map<Integer, Long> blockedSignals = Map.of();

    /** One task of the tree. {@code fds} are sorted by fd number. */
    public record Task(int pid, int ppid, int pgid, int sid, List<Integer> threads, long filesId,
                       List<Fd> fds, String comm, FsEntry fs) {
        /** True if this task leads its session. */
        public boolean sessionLeader() {
            return pid == sid;
        }

        /** True if this task leads its process group. */
        public boolean groupLeader() {
            return pid == pgid;
        }

        @Override
        public String toString() {
            return "task " + pid;
        }
    }

    /**
     * One fd of a task: its number, its fd flags (FD_CLOEXEC), the file id it refers to, the fd type as
     * recorded (and as an enum when CRIU defines it), and where it was read.
     */
    public record Fd(int fd, int flags, long fileId, int rawType, FdType type, String image, int entry) {
        /** FD_CLOEXEC. */
        public boolean cloexec() {
            return (flags & 1) != 0;
        }
    }

    /** A reference to one fd slot of one task. */
    public record FdRef(int pid, Fd fd) {
        @Override
        public String toString() {
            return "task " + pid + " fd " + fd.fd();
        }
    }

    ImageSet(Path dir, InventoryEntry inventory, List<Task> tasks, Map<Long, FileEntry> files,
                     Map<Long, FdrTaskEntry> fdrTasks) {
        this.dir = dir;
        this.inventory = inventory;
        this.tasks = List.copyOf(tasks);
        Map<Integer, Task> m = new LinkedHashMap<>();
        for (Task t : tasks) {
            m.put(t.pid(), t);
        }
        this.byPid = Collections.unmodifiableMap(m);
        this.files = Collections.unmodifiableMap(files);
        Map<Long, List<FdRef>> sh = new TreeMap<>();
        for (Task t : tasks) {
            for (Fd fd : t.fds()) {
                sh.computeIfAbsent(fd.fileId(), k -> new ArrayList<>()).add(new FdRef(t.pid(), fd));
            }
        }
        // A table shared by several tasks (CLONE_FILES) is restored once: its fds are its first task's.
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (Task t : tasks) {
            if (!seen.add(t.filesId())) {
                for (Fd fd : t.fds()) {
                    sh.get(fd.fileId()).removeIf(r -> r.pid() == t.pid());
                }
            }
        }
        sh.values().removeIf(List::isEmpty);
        sh.replaceAll((k, v) -> List.copyOf(v));
        this.sharers = Collections.unmodifiableMap(sh);
        this.fdrTasks = Map.copyOf(fdrTasks);
    }

    /**
     * Reads and validates the image set in {@code dir}. Every problem found (dangling file ids, duplicate
     * fds, pstree cycles, unknown fd types ...) is reported together in one {@link ImageSetException}.
     * A single undecodable image is reported as the {@link ImageFormatException} that names it.
     */
    public static ImageSet open(Path dir) throws IOException {
        return new ImageSetLoader(dir).load();
    }

    /** The image directory. */
    public Path dir() {
        return dir;
    }

    /** inventory.img's entry. */
    public InventoryEntry inventory() {
        return inventory;
    }

    /** The tasks, in pstree order (the root first). */
    public List<Task> tasks() {
        return tasks;
    }

    /** The task with image pid {@code pid}. */
    public Optional<Task> task(int pid) {
        return Optional.ofNullable(byPid.get(pid));
    }

    /** The root of the tree. */
    public Task root() {
        return tasks.get(0);
    }

    /** Every file entry, by id. */
    public Map<Long, FileEntry> files() {
        return files;
    }

    /** The file with this id, if any. */
    public Optional<FileEntry> file(long id) {
        return Optional.ofNullable(files.get(id));
    }

    /** The fd slots that refer to each file id, in pstree order then fd order. */
    public Map<Long, List<FdRef>> sharers() {
        return sharers;
    }

    /** The fd slots that refer to file {@code id}. */
    public List<FdRef> sharers(long id) {
        return sharers.getOrDefault(id, List.of());
    }

    /**
     * The fd of task {@code t} that holds the removed directory its cwd was, or -1: criu remaps both the cwd
     * and that fd's file to one ghost (a remap-fpath entry of type 1), so a restore can enter that very
     * directory through the fd.
     */
    public int removedCwdFd(Task t) {
        if (t.fs() == null) {
            return -1;
        }
        Map<Long, Integer> ghostOf;
        try {
            ghostOf = ghostRemaps();
        } catch (IOException e) {
            return -1; // unreadable: the plan's own checks of the image set report it
        }
        Integer ghost = ghostOf.get(Integer.toUnsignedLong(t.fs().getCwdId()));
        if (ghost == null) {
            return -1;
        }
        for (Fd fd : t.fds()) {
            if (ghost.equals(ghostOf.get(fd.fileId()))) {
                return fd.fd();
            }
        }
        return -1;
    }

    /** Ghost remaps (remap-fpath entries of type 1), original file id -> ghost id; read once. */
    private Map<Long, Integer> ghostRemaps;

    private synchronized Map<Long, Integer> ghostRemaps() throws IOException {
        if (ghostRemaps == null) {
            Map<Long, Integer> m = new HashMap<>();
            for (RemapFilePathEntry r : entries(Magic.REMAP_FPATH, RemapFilePathEntry.class)) {
                if (r.hasRemapType() && r.getRemapType() == 1) {
                    m.put(Integer.toUnsignedLong(r.getOrigId()), r.getRemapId());
                }
            }
            ghostRemaps = m;
        }
        return ghostRemaps;
    }

    /**
     * The path of directory entry {@code id}: the regular-file entry by which fs-PID.img names a task's cwd
     * or root; null when there is no such entry or it has no path.
     */
    public String dirPath(long id) {
        FileEntry e = files.get(id);
        return e != null && e.hasReg() && e.getReg().hasName() ? e.getReg().getName() : null;
    }

    /** The entry of directory {@code path} for fs-PID.img (a task's cwd or root), as {@link #dirPath} reads it. */
    public static FileEntry dirEntry(long id, String path, int mode) {
        return FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) id)
                .setReg(fdrestore.api.image.proto.RegFileEntry.newBuilder().setId((int) id).setFlags(0).setPos(0)
                        .setFown(fdrestore.api.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0)
                                .setPidType(0).setPid(0))
                        .setName(path).setMode(mode))
                .build();
    }

    /**
     * The signals task {@code pid} had blocked (its core image's blk_sigset: bit N-1 is signal N); 0 when
     * none, or when its core image is absent.
     */
    public long blockedSignals(int pid) {
        return blockedSignals.getOrDefault(pid, 0L);
    }

    /** fdrestore's own record of a task (argv, env, cwd), when the image set has fdr-task.img. */
    public Optional<FdrTaskEntry> fdrTask(int pid) {
        return Optional.ofNullable(fdrTasks.get(Integer.toUnsignedLong(pid)));
    }

    /**
     * A side image that holds one file for the whole set (pipes-data.img, tty-info.img ...), read on first
     * use; an absent image reads as empty.
     */
    public synchronized ImageFile image(Magic magic) throws IOException {
        if (magic.isPerObject()) {
            throw new IllegalArgumentException(magic + " is per object: use image(magic, id)");
        }
        ImageFile f = sideImages.get(magic);
        if (f == null) {
            Path p = dir.resolve(magic.fileName());
            f = Files.exists(p) ? ImageReader.read(p, magic) : new ImageFile(magic, List.of());
            sideImages.put(magic, f);
        }
        return f;
    }

    /** A per-object image (ghost-file-ID.img, tcp-stream-INO.img ...), or empty when it is absent. */
    public synchronized Optional<ImageFile> image(Magic magic, long id) throws IOException {
        String name = magic.fileName(id);
        ImageFile f = perObject.get(name);
        if (f == null) {
            Path p = dir.resolve(name);
            if (!Files.exists(p)) {
                return Optional.empty();
            }
            f = ImageReader.read(p, magic);
            perObject.put(name, f);
        }
        return Optional.of(f);
    }

    /** The messages of a side image, typed. */
    public <T extends Message> List<T> entries(Magic magic, Class<T> type) throws IOException {
        return image(magic).messages(type);
    }
}
