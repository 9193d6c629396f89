package fdrestore.plugin.pipe;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.testkit.ImageSetBuilder;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The testkit's {@link ImageSetBuilder} with pipe descriptions of any flags, named FIFOs (with the
 * regular-file entry that names their path) and queued data with its pipe size, in CRIU's format.
 */
final class PipeImageSet {
    private final ImageSetBuilder base = new ImageSetBuilder();

    PipeImageSet task(int pid, int ppid) {
        base.task(pid, ppid);
        return this;
    }

    /** One description of pipe {@code pipeId} opened with {@code flags}; returns its file id. */
    long pipe(long pipeId, int flags) {
        return base.file(id -> Fixtures.pipeEntry(id, pipeId, flags));
    }

    /** One description of the FIFO {@code pipeId} at {@code path}, opened with {@code flags}; returns its file id. */
    long fifo(long pipeId, String path, int flags) {
        long reg = base.file(id -> FileEntry.newBuilder().setType(FdType.REG.code()).setId(id).setReg(RegFileEntry
                .newBuilder().setId(id).setFlags(flags).setPos(0).setFown(Fixtures.fown()).setName(path)).build());
        return base.file(id -> Fixtures.fifoEntry(id, pipeId, reg));
    }

    /** Data queued in pipe {@code pipeId}, with its buffer size (0: none recorded). */
    PipeImageSet pipeData(long pipeId, byte[] data, int size) {
        base.entry(Magic.PIPES_DATA, dataEntry(pipeId, data, size), data);
        return this;
    }

    PipeImageSet fifoData(long pipeId, byte[] data, int size) {
        base.entry(Magic.FIFO_DATA, dataEntry(pipeId, data, size), data);
        return this;
    }

    private static PipeDataEntry dataEntry(long pipeId, byte[] data, int size) {
        PipeDataEntry.Builder e = PipeDataEntry.newBuilder().setPipeId((int) pipeId).setBytes(data.length);
        if (size > 0) {
            e.setSize(size);
        }
        return e.build();
    }

    PipeImageSet fd(int pid, int fd, long fileId) {
        return fd(pid, fd, fileId, false);
    }

    PipeImageSet fd(int pid, int fd, long fileId, boolean cloexec) {
        base.fd(pid, fd, fileId, cloexec);
        return this;
    }

    Path write(Path dir) throws IOException {
        return base.write(dir);
    }
}
