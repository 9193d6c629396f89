package fdrestore.plugin.pipe;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.testkit.ImageSetBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The testkit's {@link ImageSetBuilder} (tasks) plus pipe descriptions with any flags, named FIFOs (with
 * the regular-file entry that names their path) and queued data with its pipe size, in CRIU's format.
 */
final class PipeImageSet {
    private final ImageSetBuilder base = new ImageSetBuilder();
    private final List<FileEntry> files = new ArrayList<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final List<ImageEntry> pipeData = new ArrayList<>();
    private final List<ImageEntry> fifoData = new ArrayList<>();
    private int nextId = 1;

    PipeImageSet task(int pid, int ppid) {
        base.task(pid, ppid);
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** One description of pipe {@code pipeId} opened with {@code flags}; returns its file id. */
    long pipe(long pipeId, int flags) {
        int id = nextId++;
        files.add(Fixtures.pipeEntry(id, pipeId, flags));
        return id;
    }

    /** One description of the FIFO {@code pipeId} at {@code path}, opened with {@code flags}; returns its file id. */
    long fifo(long pipeId, String path, int flags) {
        int reg = nextId++;
        int id = nextId++;
        files.add(FileEntry.newBuilder().setType(FdType.REG.code()).setId(reg).setReg(RegFileEntry.newBuilder()
                .setId(reg).setFlags(flags).setPos(0).setFown(Fixtures.fown()).setName(path)).build());
        files.add(Fixtures.fifoEntry(id, pipeId, reg));
        return id;
    }

    /** Data queued in pipe {@code pipeId}, with its buffer size (0: none recorded). */
    PipeImageSet pipeData(long pipeId, byte[] data, int size) {
        pipeData.add(dataEntry(pipeId, data, size));
        return this;
    }

    PipeImageSet fifoData(long pipeId, byte[] data, int size) {
        fifoData.add(dataEntry(pipeId, data, size));
        return this;
    }

    private static ImageEntry dataEntry(long pipeId, byte[] data, int size) {
        PipeDataEntry.Builder e = PipeDataEntry.newBuilder().setPipeId((int) pipeId).setBytes(data.length);
        if (size > 0) {
            e.setSize(size);
        }
        return new ImageEntry(e.build(), data);
    }

    PipeImageSet fd(int pid, int fd, long fileId) {
        return fd(pid, fd, fileId, false);
    }

    PipeImageSet fd(int pid, int fd, long fileId, boolean cloexec) {
        FileEntry f = files.stream().filter(x -> x.getId() == (int) fileId).findFirst().orElseThrow();
        fds.get(pid).add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(cloexec ? 1 : 0).setType(f.getType())
                .setFd(fd).build());
        return this;
    }

    Path write(Path dir) throws IOException {
        base.write(dir);
        Path filesImg = dir.resolve(Magic.FILES.fileName());
        List<ImageEntry> fe = new ArrayList<>(ImageReader.read(filesImg, Magic.FILES).entries());
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), filesImg);
        for (Map.Entry<Integer, List<FdinfoEntry>> e : fds.entrySet()) {
            Path p = dir.resolve(Magic.FDINFO.fileName(e.getKey()));
            List<ImageEntry> fi = new ArrayList<>(ImageReader.read(p, Magic.FDINFO).entries());
            e.getValue().forEach(x -> fi.add(ImageEntry.of(x)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), p);
        }
        if (!pipeData.isEmpty()) {
            ImageWriter.write(new ImageFile(Magic.PIPES_DATA, pipeData), dir.resolve(Magic.PIPES_DATA.fileName()));
        }
        if (!fifoData.isEmpty()) {
            ImageWriter.write(new ImageFile(Magic.FIFO_DATA, fifoData), dir.resolve(Magic.FIFO_DATA.fileName()));
        }
        return dir;
    }
}
