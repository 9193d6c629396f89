package fdrestore.api.image;

import com.google.protobuf.Message;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FsEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads one image set for {@link ImageSet#open}: the inventory, pstree, the files (files.img or the legacy
 * per-kind images), each table's fdinfo, and checks the tree; collects problems instead of stopping at the
 * first.
 */
final class ImageSetLoader {
    private final Path dir;
    private final List<String> problems = new ArrayList<>();
    private final Map<Integer, Long> sigmasks = new java.util.concurrent.ConcurrentHashMap<>();

    ImageSetLoader(Path dir) {
        this.dir = dir;
    }

    ImageSet load() throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new ImageSetException(dir, List.of(Files.exists(dir) ? "not a directory" : "no such directory"));
        }
        Path inv = dir.resolve(Magic.INVENTORY.fileName());
        Path ps = dir.resolve(Magic.PSTREE.fileName());
        if (!Files.exists(inv) || !Files.exists(ps)) {
            throw new ImageSetException(dir, List.of("not an image set: "
                    + (Files.exists(inv) ? "" : "inventory.img ") + (Files.exists(ps) ? "" : "pstree.img ")
                    + "missing (a CRIU image directory has both)"));
        }
        InventoryEntry inventory = single(inv, Magic.INVENTORY, InventoryEntry.class);
        List<PstreeEntry> pstree = ImageReader.read(ps, Magic.PSTREE).messages(PstreeEntry.class);
        if (pstree.isEmpty()) {
            throw new ImageSetException(dir, List.of("pstree.img has no task"));
        }
        Map<Long, FileEntry> files = readFiles();
        Map<Long, FdrTaskEntry> fdr = readFdrTasks();
        List<Task> tasks = readTasks(pstree, files);
        checkTree(pstree);
        if (!problems.isEmpty()) {
            throw new ImageSetException(dir, problems);
        }
        ImageSet set = new ImageSet(dir, inventory, tasks, files, fdr);
        set.blockedSignals = Map.copyOf(sigmasks);
        return set;
    }

    private Map<Long, FdrTaskEntry> readFdrTasks() throws IOException {
        Path p = dir.resolve(Magic.FDR_TASK.fileName());
        Map<Long, FdrTaskEntry> out = new HashMap<>();
        if (Files.exists(p)) {
            for (FdrTaskEntry e : ImageReader.read(p, Magic.FDR_TASK).messages(FdrTaskEntry.class)) {
                out.put(Integer.toUnsignedLong(e.getPid()), e);
            }
        }
        return out;
    }

    private Map<Long, FileEntry> readFiles() throws IOException {
        Map<Long, FileEntry> files = new TreeMap<>();
        Path p = dir.resolve(Magic.FILES.fileName());
        if (Files.exists(p)) {
            ImageFile img = ImageReader.read(p, Magic.FILES);
            for (int i = 0; i < img.size(); i++) {
                FileEntry f = img.entry(i).message(FileEntry.class);
                add(files, f, "files.img entry " + i);
            }
            return files;
        }
        // Before files.img (criu < 3.x), each kind had its own image.
        legacy(files, Magic.REG_FILES, RegFileEntry.class, FdType.REG);
        legacy(files, Magic.PIPES, PipeEntry.class, FdType.PIPE);
        legacy(files, Magic.FIFO, FifoEntry.class, FdType.FIFO);
        legacy(files, Magic.UNIXSK, UnixSkEntry.class, FdType.UNIXSK);
        legacy(files, Magic.INETSK, InetSkEntry.class, FdType.INETSK);
        legacy(files, Magic.TTY_FILES, TtyFileEntry.class, FdType.TTY);
        legacy(files, Magic.EVENTPOLL, EventpollFileEntry.class, FdType.EVENTPOLL);
        legacy(files, Magic.TIMERFD, TimerfdEntry.class, FdType.TIMERFD);
        legacy(files, Magic.EVENTFD, EventfdFileEntry.class, FdType.EVENTFD);
        legacy(files, Magic.NETLINK_SK, NetlinkSkEntry.class, FdType.NETLINKSK);
        legacy(files, Magic.PACKETSK, PacketSockEntry.class, FdType.PACKETSK);
        return files;
    }

    private void add(Map<Long, FileEntry> files, FileEntry f, String where) {
        long id = Integer.toUnsignedLong(f.getId());
        if (files.putIfAbsent(id, f) != null) {
            problems.add(where + ": file id " + id + " appears twice");
        }
    }

    private <T extends Message> void legacy(Map<Long, FileEntry> files, Magic magic, Class<T> type, FdType kind)
            throws IOException {
        Path p = dir.resolve(magic.fileName());
        if (!Files.exists(p)) {
            return;
        }
        ImageFile img = ImageReader.read(p, magic);
        for (int i = 0; i < img.size(); i++) {
            T m = img.entry(i).message(type);
            FileEntry.Builder b = FileEntry.newBuilder().setType(kind.code());
            int id;
            if (m instanceof RegFileEntry e) {
                id = e.getId();
                b.setReg(e);
            } else if (m instanceof PipeEntry e) {
                id = e.getId();
                b.setPipe(e);
            } else if (m instanceof FifoEntry e) {
                id = e.getId();
                b.setFifo(e);
            } else if (m instanceof UnixSkEntry e) {
                id = e.getId();
                b.setUsk(e);
            } else if (m instanceof InetSkEntry e) {
                id = e.getId();
                b.setIsk(e);
            } else if (m instanceof TtyFileEntry e) {
                id = e.getId();
                b.setTty(e);
            } else if (m instanceof EventpollFileEntry e) {
                id = e.getId();
                b.setEpfd(e);
            } else if (m instanceof TimerfdEntry e) {
                id = e.getId();
                b.setTfd(e);
            } else if (m instanceof EventfdFileEntry e) {
                id = e.getId();
                b.setEfd(e);
            } else if (m instanceof NetlinkSkEntry e) {
                id = e.getId();
                b.setNlsk(e);
            } else if (m instanceof PacketSockEntry e) {
                id = e.getId();
                b.setPsk(e);
            } else {
                throw new IllegalStateException("no legacy mapping for " + type);
            }
            add(files, b.setId(id).build(), magic.fileName() + " entry " + i);
        }
    }

    /**
     * The message of a one-entry image (inventory, ids, core, fs); any other count of entries is the
     * format error that names the image (found by the image fuzzer: it was an IllegalStateException).
     */
    private static <T extends com.google.protobuf.Message> T single(Path p, Magic magic, Class<T> type)
            throws IOException {
        ImageFile f = ImageReader.read(p, magic);
        if (f.size() != 1) {
            long at = f.size() == 0 ? magic.headerLength()
                    : magic.headerLength() + 4L + f.entry(0).message().getSerializedSize();
            throw new ImageFormatException(p, Math.min(f.size(), 1), at, magic.critName() + " image has "
                    + f.size() + " entries; it must have exactly one");
        }
        return f.entry(0).message(type);
    }

    private long filesId(int pid, List<String> sink) throws IOException {
        Path ids = dir.resolve(Magic.IDS.fileName(pid));
        if (Files.exists(ids)) {
            return Integer.toUnsignedLong(single(ids, Magic.IDS, TaskKobjIdsEntry.class).getFilesId());
        }
        Path core = dir.resolve(Magic.CORE.fileName(pid));
        if (Files.exists(core)) {
            CoreEntry c = single(core, Magic.CORE, CoreEntry.class);
            if (c.hasIds()) {
                return Integer.toUnsignedLong(c.getIds().getFilesId());
            }
            sink.add("task " + pid + ": " + core.getFileName() + " has no ids and ids-" + pid + ".img is missing");
            return -1;
        }
        sink.add("task " + pid + ": neither ids-" + pid + ".img nor core-" + pid + ".img exists");
        return -1;
    }

    private String comm(int pid) throws IOException {
        Path core = dir.resolve(Magic.CORE.fileName(pid));
        if (!Files.exists(core)) {
            return null;
        }
        CoreEntry c = single(core, Magic.CORE, CoreEntry.class);
        if (c.hasTc() && c.getTc().getBlkSigset() != 0) {
            sigmasks.put(pid, c.getTc().getBlkSigset());
        }
        return c.hasTc() ? c.getTc().getComm() : null;
    }

    private FsEntry fs(int pid) throws IOException {
        Path p = dir.resolve(Magic.FS.fileName(pid));
        return Files.exists(p) ? single(p, Magic.FS, FsEntry.class) : null;
    }

    /**
     * Each task's images (ids or core, fs, its fdinfo), read on all cores: a 1,000-task set has some
     * 4,000 small images. Problems and errors come out in pstree order, as a serial read gives them.
     */
    private List<Task> readTasks(List<PstreeEntry> pstree, Map<Long, FileEntry> files) throws IOException {
        int n = pstree.size();
        long[] filesIds = new long[n];
        String[] comms = new String[n];
        FsEntry[] fss = new FsEntry[n];
        @SuppressWarnings({"unchecked", "rawtypes"}) // no generic array creation: an array of raw List
        List<String>[] found = new List[n];
        IOException[] errors = new IOException[n];
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            int pid = pstree.get(i).getPid();
            found[i] = new ArrayList<>();
            try {
                filesIds[i] = filesId(pid, found[i]);
                comms[i] = comm(pid);
                fss[i] = fs(pid);
            } catch (IOException e) {
                errors[i] = e;
            }
        });
        firstError(errors);
        // One fdinfo image per fd table: read by the first task that has it.
        Map<Long, Integer> owner = new HashMap<>();
        for (int i = 0; i < n; i++) {
            if (filesIds[i] >= 0) {
                owner.putIfAbsent(filesIds[i], i);
            }
        }
        @SuppressWarnings({"unchecked", "rawtypes"}) // no generic array creation: an array of raw List
        List<Fd>[] tables = new List[n];
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            if (filesIds[i] >= 0 && owner.get(filesIds[i]) == i) {
                try {
                    tables[i] = readFdinfo(pstree.get(i).getPid(), filesIds[i], files, found[i]);
                } catch (IOException e) {
                    errors[i] = e;
                }
            }
        });
        firstError(errors);
        List<Task> tasks = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            PstreeEntry p = pstree.get(i);
            problems.addAll(found[i]);
            List<Fd> fds = filesIds[i] >= 0 ? tables[owner.get(filesIds[i])] : List.of();
            tasks.add(new Task(p.getPid(), p.getPpid(), p.getPgid(), p.getSid(), List.copyOf(p.getThreadsList()),
                    filesIds[i], fds, comms[i], fss[i]));
        }
        return tasks;
    }

    private static void firstError(IOException[] errors) throws IOException {
        for (IOException e : errors) {
            if (e != null) {
                throw e;
            }
        }
    }

    private List<Fd> readFdinfo(int pid, long filesId, Map<Long, FileEntry> files, List<String> sink)
            throws IOException {
        String name = Magic.FDINFO.fileName(filesId);
        Path p = dir.resolve(name);
        if (!Files.exists(p)) {
            return List.of(); // an empty table: criu writes no fdinfo image for it
        }
        ImageFile img = ImageReader.read(p, Magic.FDINFO);
        TreeMap<Integer, Fd> byFd = new TreeMap<>();
        for (int i = 0; i < img.size(); i++) {
            FdinfoEntry e = img.entry(i).message(FdinfoEntry.class);
            if (e.getFd() < 0) {
                sink.add(where(name, i, pid, e) + ": fd number " + Integer.toUnsignedString(e.getFd())
                        + " is out of range (must be below 2^31)");
                continue;
            }
            FdType type = FdType.of(e.getType());
            if (type == null) {
                sink.add(where(name, i, pid, e) + ": unknown fd type " + e.getType());
            }
            long id = Integer.toUnsignedLong(e.getId());
            FileEntry f = files.get(id);
            if (f == null) {
                sink.add(where(name, i, pid, e) + ": refers to file id " + id + ", which no file image holds");
            } else if (f.getType() != e.getType()) {
                sink.add(where(name, i, pid, e) + ": fd type " + e.getType() + " but file " + id + " has type " + f.getType());
            }
            Fd fd = new Fd(e.getFd(), e.getFlags(), id, e.getType(), type, name, i);
            Fd dup = byFd.putIfAbsent(e.getFd(), fd);
            if (dup != null) {
                sink.add(where(name, i, pid, e) + ": duplicate fd " + e.getFd() + " (also entry " + dup.entry() + ")");
            }
        }
        return List.copyOf(byFd.values());
    }

    /** "fdinfo-2.img entry 5 (task 1 fd 3)": where a problem of one fdinfo entry is. */
    private static String where(String image, int entry, int pid, FdinfoEntry e) {
        return image + " entry " + entry + " (task " + pid + " fd " + Integer.toUnsignedString(e.getFd()) + ")";
    }

    private void checkTree(List<PstreeEntry> pstree) {
        Map<Integer, PstreeEntry> byPid = new HashMap<>();
        for (int i = 0; i < pstree.size(); i++) {
            PstreeEntry p = pstree.get(i);
            if (byPid.putIfAbsent(p.getPid(), p) != null) {
                problems.add("pstree.img entry " + i + ": pid " + p.getPid() + " appears twice");
            }
        }
        if (pstree.get(0).getPpid() != 0 && byPid.containsKey(pstree.get(0).getPpid())) {
            problems.add("pstree.img entry 0: the first task (the root) has a parent in the tree");
        }
        for (int i = 0; i < pstree.size(); i++) {
            PstreeEntry p = pstree.get(i);
            if (i > 0 && !byPid.containsKey(p.getPpid())) {
                problems.add("pstree.img entry " + i + ": task " + p.getPid() + " has parent " + p.getPpid()
                        + ", which is not in the tree");
                continue;
            }
            Set<Integer> seen = new HashSet<>();
            int cur = p.getPid();
            while (cur != 0 && byPid.containsKey(cur)) {
                if (!seen.add(cur)) {
                    problems.add("pstree.img entry " + i + ": task " + p.getPid() + " is in a parent cycle "
                            + seen);
                    break;
                }
                cur = byPid.get(cur).getPpid();
            }
        }
    }
}
