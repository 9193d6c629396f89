package fdrestore.core.dump;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * A {@link DumpContext} over an fd of fdrestore's own table, for testing a plugin's dump side on real
 * kernel objects without a tree: the "task" is the JVM itself, {@link #localFd()} is the fd, and what the
 * dumper writes (side-image entries, extra files, per-object images, notes) is kept for the test to read.
 * {@link #close()} closes what {@link #reopen} opened (not the fd itself).
 */
public final class LocalDumpContext implements DumpContext, AutoCloseable {
    private final LiveFile file;
    private final long id;
    private long nextId;
    private final Map<Integer, Long> fileIds = new HashMap<>();
    private final Map<String, Object> memo = new HashMap<>();
    private final List<Integer> opened = new ArrayList<>();
    /** Side-image entries, in order. */
    public final Map<Magic, List<ImageEntry>> side = new LinkedHashMap<>();
    /** Per-object images by file name. */
    public final Map<String, List<ImageEntry>> objects = new LinkedHashMap<>();
    /** Extra files.img entries. */
    public final List<FileEntry> files = new ArrayList<>();
    /** Notes. */
    public final List<String> notes = new ArrayList<>();
    /** Raw page images by pages id. */
    public final Map<Long, byte[]> pages = new LinkedHashMap<>();

    private LocalDumpContext(LiveFile file, long id) {
        this.file = file;
        this.id = id;
        this.nextId = id + 1;
    }

    /** The context of fd {@code fd} of this JVM, dumped as file {@code id}. */
    public static LocalDumpContext of(int fd, long id) throws IOException {
        int pid = Sys.getpid();
        Path proc = Path.of("/proc/self");
        String link = Files.readSymbolicLink(proc.resolve("fd").resolve(Integer.toString(fd))).toString();
        Fdinfo info = Fdinfo.parse(Files.readString(proc.resolve("fdinfo").resolve(Integer.toString(fd))));
        var stat = Sys.fstat(fd);
        LiveFile.Socket socket = null;
        if (stat.type() == Linux.S_IFSOCK) {
            socket = new LiveFile.Socket(Sys.getsockoptInt(fd, Linux.SOL_SOCKET, FdReader.SO_DOMAIN),
                    Sys.getsockoptInt(fd, Linux.SOL_SOCKET, Linux.SO_TYPE),
                    Sys.getsockoptInt(fd, Linux.SOL_SOCKET, FdReader.SO_PROTOCOL));
        }
        return new LocalDumpContext(new LiveFile(pid, fd, link, info, stat, socket), id);
    }

    /** Declares the file id of another fd (for {@link #fileIdOf}). */
    public LocalDumpContext withFileId(int fd, long fileId) {
        fileIds.put(fd, fileId);
        return this;
    }

    @Override
    public LiveFile file() {
        return file;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public long newId() {
        return nextId++;
    }

    @Override
    public int localFd() {
        return file.fd();
    }

    @Override
    public int reopen(int flags) throws DumpException {
        return DescContext.reopen(file.fd(), flags, opened);
    }

    @Override
    public FownEntry fown() throws DumpException {
        return DescContext.readFown(file.fd(), new int[] {0, 0});
    }

    @Override
    public OptionalLong fileIdOf(int fd) {
        Long v = fileIds.get(fd);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    @Override
    public int[] taskFds() {
        try {
            return Sys.listFds();
        } catch (SysException e) {
            return new int[0];
        }
    }

    @Override
    public boolean kcmpSame(int type, int idx1, int... idx2) throws DumpException {
        try {
            return Kcmp.same(Sys.getpid(), type, idx1, idx2);
        } catch (SysException e) {
            throw new DumpException(e.getMessage(), e);
        }
    }

    @Override
    public boolean treeHoldsSocket(long ino) {
        String want = "socket:[" + ino + "]";
        try (var fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(want)) {
                        return true;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return true;
        }
        return false;
    }

    @Override
    public void addFile(FileEntry entry) {
        files.add(entry);
    }

    @Override
    public void append(Magic magic, Message message, byte[] payload) {
        side.computeIfAbsent(magic, k -> new ArrayList<>()).add(new ImageEntry(message, payload));
    }

    @Override
    public void writeImage(Magic magic, long objectId, List<ImageEntry> entries) {
        objects.put(magic.fileName(objectId), List.copyOf(entries));
    }

    @Override
    public void writePages(long pagesId, byte[] content) {
        pages.put(pagesId, content.clone());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T memo(String key, Supplier<T> make) {
        return (T) memo.computeIfAbsent(key, k -> make.get());
    }

    @Override
    public void note(String message) {
        notes.add(message);
    }

    @Override
    public void close() {
        opened.forEach(Sys::closeQuietly);
        opened.clear();
    }
}
