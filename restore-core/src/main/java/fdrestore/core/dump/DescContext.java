package fdrestore.core.dump;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.dump.DumpState.Desc;
import fdrestore.core.dump.DumpState.Slot;
import fdrestore.core.dump.DumpState.Task;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

/** The context of one description's dump; its images are kept only on success ({@link #commit}). */
final class DescContext implements DumpContext {
    private final DumpState state;
    private final ProcFs proc;
    private final Desc d;
    private final List<FileEntry> extra = new ArrayList<>();
    private final List<Map.Entry<Magic, ImageEntry>> side = new ArrayList<>();
    private final Map<Map.Entry<Magic, Long>, List<ImageEntry>> objects = new LinkedHashMap<>();
    private final Map<Long, byte[]> pages = new LinkedHashMap<>();
    private final List<Integer> opened = new ArrayList<>();

    DescContext(DumpState state, ProcFs proc, Desc d) {
        this.state = state;
        this.proc = proc;
        this.d = d;
    }

    @Override
    public LiveFile file() {
        return d.first().live();
    }

    @Override
    public long id() {
        return d.id;
    }

    @Override
    public long newId() {
        return state.newId();
    }

    @Override
    public int localFd() {
        return d.copy;
    }

    @Override
    public int reopen(int flags) throws DumpException {
        return reopen(d.copy, flags, opened);
    }

    @Override
    public FownEntry fown() throws DumpException {
        return readFown(d.copy, uids(d.first().task().pid));
    }

    @Override
    public OptionalLong fileIdOf(int fd) {
        Task owner = d.first().task();
        for (Slot s : owner.slots) {
            if (s.fd() == fd) {
                return s.desc().skipped == null ? OptionalLong.of(s.desc().id) : OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    @Override
    public int[] taskFds() {
        return d.first().task().slots.stream().mapToInt(Slot::fd).toArray();
    }

    @Override
    public boolean treeHoldsSocket(long ino) {
        for (Desc other : state.descs) {
            LiveFile l = other.first().live();
            if (l.isSocket() && l.stat().ino() == ino) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean kcmpSame(int type, int idx1, int... idx2) throws DumpException {
        int pid = d.first().task().pid;
        try {
            return Kcmp.same(pid, type, idx1, idx2);
        } catch (SysException e) {
            throw Kcmp.failure(pid, e);
        }
    }

    @Override
    public void addFile(FileEntry entry) {
        extra.add(entry);
    }

    @Override
    public void append(Magic magic, Message message, byte[] payload) {
        side.add(Map.entry(magic, new ImageEntry(message, payload)));
    }

    @Override
    public void writeImage(Magic magic, long id, List<ImageEntry> entries) {
        objects.put(Map.entry(magic, id), List.copyOf(entries));
    }

    @Override
    public void writePages(long pagesId, byte[] pages) {
        this.pages.put(pagesId, pages.clone());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T memo(String key, Supplier<T> make) {
        return (T) state.memo.computeIfAbsent(key, k -> make.get());
    }

    @Override
    public void note(String message) {
        state.notes.add(d.first().live() + ": " + message);
    }

    void commit() {
        state.files.addAll(extra);
        for (Map.Entry<Magic, ImageEntry> e : side) {
            state.sink.add(e.getKey(), e.getValue());
        }
        for (Map.Entry<Map.Entry<Magic, Long>, List<ImageEntry>> e : objects.entrySet()) {
            state.sink.put(e.getKey().getKey(), e.getKey().getValue(), e.getValue());
        }
        pages.forEach(state.sink::putPages);
    }

    void close() {
        for (int fd : opened) {
            Sys.closeQuietly(fd);
        }
        opened.clear();
    }

    /**
     * A new open file description of the file behind {@code copy} (an fd of this JVM), through
     * /proc/self/fd, with {@code flags} and O_CLOEXEC; recorded in {@code opened}, which its context closes.
     */
    static int reopen(int copy, int flags, List<Integer> opened) throws DumpException {
        try {
            int fd = Sys.open("/proc/self/fd/" + copy, flags | Linux.O_CLOEXEC, 0);
            opened.add(fd);
            return fd;
        } catch (SysException e) {
            throw new DumpException("cannot reopen it: " + e.getMessage(), e);
        }
    }

    /** The F_SETOWN state of a description, read on a copy: all zero when it has no owner (as CRIU writes it). */
    static FownEntry readFown(int fd, int[] uids) throws DumpException {
        try {
            byte[] ex = new byte[8];
            Sys.fcntl(fd, Linux.F_GETOWN_EX, ex);
            int type = (ex[0] & 0xff) | (ex[1] & 0xff) << 8 | (ex[2] & 0xff) << 16 | (ex[3] & 0xff) << 24;
            int pid = (ex[4] & 0xff) | (ex[5] & 0xff) << 8 | (ex[6] & 0xff) << 16 | (ex[7] & 0xff) << 24;
            FownEntry.Builder b = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0);
            if (pid != 0) {
                int signum = (int) Sys.fcntl(fd, Linux.F_GETSIG, 0);
                b.setUid(uids[0]).setEuid(uids[1]).setSignum(signum).setPidType(type).setPid(pid);
            }
            return b.build();
        } catch (SysException e) {
            throw new DumpException("cannot read its owner (F_GETOWN_EX): " + e.getMessage(), e);
        }
    }

    private int[] uids(int pid) {
        try {
            String[] u = proc.status(pid, "Uid").split("\\s+");
            return new int[] {Integer.parseInt(u[0]), Integer.parseInt(u[1])};
        } catch (DumpException | RuntimeException e) {
            return new int[] {0, 0};
        }
    }
}
