package fdrestore.testkit;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a CRIU-format image set from a few calls, for tests and benchmarks: tasks, regular files,
 * pipes (with queued data), epolls, timerfds, eventfds and the fds that refer to them; a file of any other
 * kind ({@link #file}) and the entries of its side images ({@link #entry}), so a kind with images of its
 * own needs no image writer of its own.
 *
 * <pre>
 * ImageSetBuilder b = new ImageSetBuilder();
 * b.task(100, 0);                       // the root, leader of its session
 * b.task(101, 100);
 * long f = b.regularFile("/data/x", O_RDONLY, 0);
 * b.fd(100, 3, f).fd(101, 7, f);        // one open file shared by two tasks
 * b.write(dir);
 * </pre>
 */
public final class ImageSetBuilder {
    private final Map<Integer, PstreeEntry> tasks = new LinkedHashMap<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final List<FileEntry> files = new ArrayList<>();
    /** The side images of {@link #entry}, by file name, entries in order. */
    private final Map<String, SideImage> sideImages = new LinkedHashMap<>();
    private final Map<String, byte[]> extraImages = new LinkedHashMap<>();
    private int nextId = 1;
    private int nextPipe = 1000;

    private static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** A task in its parent's session and group (the root leads its own). */
    public ImageSetBuilder task(int pid, int ppid) {
        PstreeEntry parent = tasks.get(ppid);
        int sid = parent == null ? pid : parent.getSid();
        int pgid = parent == null ? pid : parent.getPgid();
        return task(pid, ppid, pgid, sid);
    }

    public ImageSetBuilder task(int pid, int ppid, int pgid, int sid) {
        tasks.put(pid, PstreeEntry.newBuilder().setPid(pid).setPpid(ppid).setPgid(pgid).setSid(sid).addThreads(pid).build());
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** A regular file opened with {@code flags} at position {@code pos}; returns its file id. */
    public long regularFile(String path, int flags, long pos) {
        int id = nextId++;
        files.add(FileEntry.newBuilder().setType(FdType.REG.code()).setId(id)
                .setReg(RegFileEntry.newBuilder().setId(id).setFlags(flags).setPos(pos).setFown(fown()).setName(path))
                .build());
        return id;
    }

    /** A pipe with {@code data} queued; returns {read end file id, write end file id}. */
    public long[] pipe(byte[] data) {
        int pipeId = nextPipe++;
        int r = nextId++;
        int w = nextId++;
        files.add(FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(r)
                .setPipe(PipeEntry.newBuilder().setId(r).setPipeId(pipeId).setFlags(0).setFown(fown())).build());
        files.add(FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(w)
                .setPipe(PipeEntry.newBuilder().setId(w).setPipeId(pipeId).setFlags(1).setFown(fown())).build());
        if (data != null && data.length > 0) {
            entry(Magic.PIPES_DATA, PipeDataEntry.newBuilder().setPipeId(pipeId).setBytes(data.length).build(), data);
        }
        return new long[] {r, w};
    }

    /**
     * One watched target of an epoll, as criu records it: the target's fd number in the table of the task
     * that dumped the epoll (the first task of the tree, in {@link #task} order, that holds the epoll),
     * the event mask and the user data.
     */
    public record EpollTarget(int fd, int events, long data) {
    }

    /** A target for {@link #eventpoll}. */
    public static EpollTarget target(int fd, int events, long data) {
        return new EpollTarget(fd, events, data);
    }

    private static EventpollTfdEntry tfd(int id, EpollTarget t) {
        return EventpollTfdEntry.newBuilder().setId(id).setTfd(t.fd()).setEvents(t.events()).setData(t.data())
                .setDev(0).setInode(0).setPos(0).build();
    }

    /** An epoll with its targets inline (criu 4.x: each target's id is 0); returns its file id. */
    public long eventpoll(int flags, EpollTarget... targets) {
        int id = nextId++;
        EventpollFileEntry.Builder e = EventpollFileEntry.newBuilder().setId(id).setFlags(flags).setFown(fown());
        for (EpollTarget t : targets) {
            e.addTfd(tfd(0, t));
        }
        files.add(FileEntry.newBuilder().setType(FdType.EVENTPOLL.code()).setId(id).setEpfd(e).build());
        return id;
    }

    /** An epoll whose targets are in the legacy eventpoll-tfd.img (each entry's id is the epoll's). */
    public long eventpollLegacy(int flags, EpollTarget... targets) {
        long id = eventpoll(flags);
        for (EpollTarget t : targets) {
            entry(Magic.EVENTPOLL_TFD, tfd((int) id, t));
        }
        return id;
    }

    /**
     * A timerfd: {@code vsec/vnsec} is the time that was left at dump time, {@code isec/insec} the
     * interval, {@code ticks} the expirations not yet read; returns its file id.
     */
    public long timerfd(int clockid, int flags, int settimeFlags, long ticks, long vsec, long vnsec, long isec,
                        long insec) {
        int id = nextId++;
        files.add(FileEntry.newBuilder().setType(FdType.TIMERFD.code()).setId(id)
                .setTfd(TimerfdEntry.newBuilder().setId(id).setFlags(flags).setFown(fown()).setClockid(clockid)
                        .setTicks(ticks).setSettimeFlags(settimeFlags).setVsec(vsec).setVnsec(vnsec).setIsec(isec)
                        .setInsec(insec))
                .build());
        return id;
    }

    /** An eventfd with open flags {@code flags} (O_RDWR, O_NONBLOCK ...) and {@code counter}; returns its file id. */
    public long eventfd(int flags, long counter) {
        int id = nextId++;
        files.add(FileEntry.newBuilder().setType(FdType.EVENTFD.code()).setId(id)
                .setEfd(EventfdFileEntry.newBuilder().setId(id).setFlags(flags).setFown(fown()).setCounter(counter))
                .build());
        return id;
    }

    /**
     * A file of any kind, for a kind the builder has no method for: {@code entry} gets the new file id and
     * returns its files.img entry (a plugin's own message in a raw field, say); returns the file id.
     */
    public long file(java.util.function.IntFunction<FileEntry> entry) {
        int id = nextId++;
        FileEntry e = entry.apply(id);
        if (e.getId() != id) {
            throw new IllegalArgumentException("the entry's id is " + e.getId() + ", not the file id " + id);
        }
        files.add(e);
        return id;
    }

    /** The FownEntry of a file nobody owns (F_SETOWN never called), as criu records it. */
    public static FownEntry noOwner() {
        return fown();
    }

    /**
     * Adds an entry to the side image of {@code magic} ({@code filelocks.img}, {@code memfd.img},
     * {@code tty-info.img} ...), after those added before: for a kind whose files.img entry refers to
     * entries of an image of its own. Use {@link #file} for files.img and {@link #task}/{@link #fd} for
     * the images of the tree.
     */
    public ImageSetBuilder entry(Magic magic, Message message) {
        return entry(magic, message, null);
    }

    /**
     * As {@link #entry(Magic, Message)}, with the raw payload that follows the entry in images whose
     * kind has one ({@link Magic#payloadKind()}: the queued bytes of a pipes-data.img entry, say).
     * {@link #write} checks each entry's type and payload as the image reader will (a GhostChunkEntry after
     * a ghost file's head, a payload of the length the entry announces).
     */
    public ImageSetBuilder entry(Magic magic, Message message, byte[] payload) {
        if (magic.isPerObject()) {
            throw new IllegalArgumentException(magic + " images are per object (" + magic.fileNameFormat()
                    + "): use entry(magic, objectId, message, payload)");
        }
        return add(magic, magic.fileName(), message, payload);
    }

    /**
     * Adds an entry to the per-object image of {@code magic} for object {@code objectId}
     * ({@code tcp-stream-<inode>.img}, {@code pagemap-shmem-<shmid>.img}, {@code ghost-file-<id>.img} ...),
     * with its payload (null for none).
     */
    public ImageSetBuilder entry(Magic magic, long objectId, Message message, byte[] payload) {
        if (!magic.isPerObject()) {
            throw new IllegalArgumentException(magic + " is a single image (" + magic.fileName()
                    + "): use entry(magic, message, payload)");
        }
        return add(magic, magic.fileName(objectId), message, payload);
    }

    private static final java.util.Set<Magic> OWN = java.util.EnumSet.of(Magic.INVENTORY, Magic.PSTREE, Magic.IDS,
            Magic.CORE, Magic.FDINFO, Magic.FILES);

    private ImageSetBuilder add(Magic magic, String name, Message message, byte[] payload) {
        if (OWN.contains(magic)) {
            throw new IllegalArgumentException(name + " is written by the builder itself: use task, fd or file");
        }
        ImageEntry e = payload == null ? ImageEntry.of(message) : new ImageEntry(message, payload.clone());
        sideImages.computeIfAbsent(name, n -> new SideImage(magic, new ArrayList<>())).entries().add(e);
        return this;
    }

    private record SideImage(Magic magic, List<ImageEntry> entries) {
    }

    /** A side image of kind {@code magic} named {@code name} (memfd.img, pagemap-shmem-7.img ...), written as given. */
    public ImageSetBuilder image(String name, Magic magic, List<ImageEntry> entries) {
        extraImages.put(name, ImageWriter.toBytes(new ImageFile(magic, entries)));
        return this;
    }

    /** A file of the set written as raw bytes (a pages-N.img, or a deliberately broken image). */
    public ImageSetBuilder raw(String name, byte[] content) {
        extraImages.put(name, content.clone());
        return this;
    }

    /** Puts file {@code fileId} at {@code fd} in task {@code pid}. */
    public ImageSetBuilder fd(int pid, int fd, long fileId) {
        return fd(pid, fd, fileId, false);
    }

    public ImageSetBuilder fd(int pid, int fd, long fileId, boolean cloexec) {
        FileEntry f = files.stream().filter(x -> x.getId() == (int) fileId).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no file " + fileId));
        List<FdinfoEntry> l = fds.get(pid);
        if (l == null) {
            throw new IllegalArgumentException("no task " + pid);
        }
        l.add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(cloexec ? 1 : 0).setType(f.getType()).setFd(fd).build());
        return this;
    }

    /** Writes the image set into {@code dir} (created if needed). Each task's table is fdinfo-PID.img. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        ImageWriter.write(new ImageFile(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder()
                .setImgVersion(2).setFdinfoPerId(true).build()))), dir.resolve(Magic.INVENTORY.fileName()));
        List<ImageEntry> ps = new ArrayList<>();
        tasks.values().forEach(p -> ps.add(ImageEntry.of(p)));
        ImageWriter.write(new ImageFile(Magic.PSTREE, ps), dir.resolve(Magic.PSTREE.fileName()));
        for (PstreeEntry p : tasks.values()) {
            int pid = p.getPid();
            ImageWriter.write(new ImageFile(Magic.IDS, List.of(ImageEntry.of(TaskKobjIdsEntry.newBuilder()
                    .setVmId(pid).setFilesId(pid).setFsId(pid).setSighandId(pid).build()))), dir.resolve(Magic.IDS.fileName(pid)));
            ImageWriter.write(new ImageFile(Magic.CORE, List.of(ImageEntry.of(CoreEntry.newBuilder().setMtype(1)
                    .setTc(TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                            .setBlkSigset(0).setComm("task-" + pid)).build()))), dir.resolve(Magic.CORE.fileName(pid)));
            List<ImageEntry> fi = new ArrayList<>();
            fds.get(pid).forEach(e -> fi.add(ImageEntry.of(e)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), dir.resolve(Magic.FDINFO.fileName(pid)));
        }
        List<ImageEntry> fe = new ArrayList<>();
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), dir.resolve(Magic.FILES.fileName()));
        for (Map.Entry<String, SideImage> e : sideImages.entrySet()) {
            ImageWriter.write(new ImageFile(e.getValue().magic(), e.getValue().entries()), dir.resolve(e.getKey()));
        }
        for (Map.Entry<String, byte[]> e : extraImages.entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
        return dir;
    }

    /** Bytes of a string, for pipe data. */
    public static byte[] bytes(String s) {
        return ByteString.copyFromUtf8(s).toByteArray();
    }
}
