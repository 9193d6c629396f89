package fdrestore.plugin.regularfile;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.codec.Payload;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.spi.PlanException;
import fdrestore.api.sys.Linux;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A file that was unlinked while open at dump time: {@code ghost-file-ID.img} holds its attributes and
 * content. It is restored the way CRIU does it: the file is created at its original path under the
 * restore root (only if nothing is there), filled, opened by the task table, then unlinked again, so the
 * restored fd is a deleted regular file whose {@code /proc} link reads {@code "<path> (deleted)"}.
 *
 * <p>The file is created and removed with java.nio on the engine thread (never on an executor thread),
 * in the JVM's own fd table; {@link #create} and {@link #remove} are the only writes this plugin makes, and
 * they touch only the file the restore created.
 */
final class GhostFile {
    /** One ghost at a time, so that two ghosts with the same path (unlinked, recreated, unlinked) never race. */
    static final Object LOCK = new Object();

    private final long remapId;
    private final GhostFileEntry head;
    private final ImageFile image;

    private GhostFile(long remapId, GhostFileEntry head, ImageFile image) {
        this.remapId = remapId;
        this.head = head;
        this.image = image;
    }

    /**
     * Checks a ghost image: a regular-file ghost whose chunks (if any) are in range, or a removed directory
     * (mode only: it is recreated empty).
     */
    static GhostFile of(long remapId, ImageFile image) throws PlanException {
        Objects.requireNonNull(image, "image");
        String name = Magic.GHOST_FILE.fileName(remapId);
        if (image.size() == 0 || !(image.entry(0).message() instanceof GhostFileEntry head)) {
            throw new PlanException(name + " has no GhostFileEntry");
        }
        int type = head.getMode() & Linux.S_IFMT;
        if (type != Linux.S_IFREG && type != Linux.S_IFDIR) {
            throw new PlanException(name + ": ghost of mode 0" + Integer.toOctalString(head.getMode())
                    + " is not supported (regular files and directories are restored from ghost images)");
        }
        if (type == Linux.S_IFDIR && (head.getChunks() || image.size() != 1 || image.entry(0).payloadLength() > 0)) {
            throw new PlanException(name + ": the ghost of a directory has content");
        }
        if (!head.getChunks() && image.size() != 1) {
            throw new PlanException(name + ": " + image.size() + " entries, but the ghost is not chunked");
        }
        for (int i = 1; i < image.size(); i++) {
            ImageEntry e = image.entry(i);
            if (!(e.message() instanceof GhostChunkEntry c) || c.getOff() < 0 || c.getLen() < 0
                    || c.getLen() != e.payloadLength()) {
                throw new PlanException(name + ": entry " + i + " is not a valid chunk (" + e + ")");
            }
        }
        return new GhostFile(remapId, head, image);
    }

    long remapId() {
        return remapId;
    }

    GhostFileEntry head() {
        return head;
    }

    /** True for the ghost of a removed directory. */
    boolean directory() {
        return (head.getMode() & Linux.S_IFMT) == Linux.S_IFDIR;
    }

    /** The file size the ghost restores. */
    long size() {
        if (directory()) {
            return 0;
        }
        if (head.hasSize()) {
            return head.getSize();
        }
        if (!head.getChunks()) {
            return Math.max(0, image.entry(0).payloadLength());
        }
        long end = 0;
        for (int i = 1; i < image.size(); i++) {
            GhostChunkEntry c = (GhostChunkEntry) image.entry(i).message();
            end = Math.max(end, c.getOff() + c.getLen());
        }
        return end;
    }

    /**
     * Creates the ghost at {@code target} (which must not exist; its directory must, and must lie under
     * {@code realRoot}), writes its content and applies its mode, owner and times. On any failure the
     * file is removed again before the exception leaves.
     */
    void create(Path target) throws IOException {
        if (directory()) {
            try {
                Files.createDirectory(target, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                throw new FileAlreadyExistsException(target.toString(), null,
                        "something exists at the removed directory's path; refusing to replace it");
            }
            boolean ok = false;
            try {
                attributes(target);
                ok = true;
            } finally {
                if (!ok) {
                    Files.deleteIfExists(target);
                }
            }
            return;
        }
        FileChannel ch;
        try {
            // CREATE_NEW is O_CREAT|O_EXCL: it never opens an existing file, nor follows a symlink there.
            ch = FileChannel.open(target, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "something exists at the ghost file's path; refusing to replace it");
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(target.toString(), null, "the ghost file's directory does not exist");
        }
        boolean ok = false;
        try {
            try (ch) {
                write(ch);
            }
            extend(target);
            attributes(target);
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(target);
            }
        }
    }

    /** Applies the ghost's mode, owner and times to what {@link #create} made. */
    private void attributes(Path target) throws IOException {
        Files.setAttribute(target, "unix:mode", head.getMode() & 07777, LinkOption.NOFOLLOW_LINKS);
        if (head.getUid() != ((Number) Files.getAttribute(target, "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue()) {
            Files.setAttribute(target, "unix:uid", head.getUid(), LinkOption.NOFOLLOW_LINKS);
        }
        if (head.getGid() != ((Number) Files.getAttribute(target, "unix:gid", LinkOption.NOFOLLOW_LINKS)).intValue()) {
            Files.setAttribute(target, "unix:gid", head.getGid(), LinkOption.NOFOLLOW_LINKS);
        }
        if (head.hasMtim()) {
            Files.setAttribute(target, "basic:lastModifiedTime", time(head.getMtim()), LinkOption.NOFOLLOW_LINKS);
        }
        if (head.hasAtim()) {
            Files.setAttribute(target, "basic:lastAccessTime", time(head.getAtim()), LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Unlinks the ghost that {@link #create} made (a directory only while it is still empty). */
    static void remove(Path target) throws IOException {
        Files.deleteIfExists(target);
    }

    /** Copies the content from the image in chunks through one buffer (a ghost may be larger than the heap). */
    private void write(FileChannel ch) throws IOException {
        byte[] buf = null;
        for (int i = head.getChunks() ? 1 : 0; i < image.size(); i++) {
            ImageEntry e = image.entry(i);
            Payload p = e.payloadView();
            if (p == null || p.length() == 0) {
                continue;
            }
            if (buf == null || (!p.inMemory() && buf.length < Math.min(Payload.CHUNK, p.length()))) {
                buf = p.chunkBuffer();
            }
            long[] at = {i == 0 ? 0 : ((GhostChunkEntry) e.message()).getOff()};
            p.forEachChunk(buf, (b, off, len) -> {
                writeAt(ch, b, off, len, at[0]);
                at[0] += len;
            });
        }
        long size = size();
        if (ch.size() > size) {
            ch.truncate(size);
        }
    }

    /** A hole up to the recorded size stays a hole: ftruncate extends the file without writing a block. */
    private void extend(Path target) throws IOException {
        long size = size();
        if (Files.size(target) < size) {
            try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) { // the file this just created
                f.setLength(size);
            }
        }
    }

    /** Blocks of this size that are all zeros are not written. */
    private static final int HOLE = 64 << 10;
    private static final byte[] ZEROS = new byte[HOLE];

    /**
     * Writes {@code data[from, from+len)} at {@code off}, but leaves each all-zero {@link #HOLE}-byte block
     * a hole (the file is new, and is extended to its size at the end): a sparse ghost stays sparse.
     */
    private static void writeAt(FileChannel ch, byte[] data, int from, int len, long off) throws IOException {
        int end = from + len;
        int run = from; // start of the data not written yet and not zero
        for (int at = from; at < end; at += HOLE) {
            int n = Math.min(HOLE, end - at);
            if (Arrays.mismatch(data, at, at + n, ZEROS, 0, n) == -1) {
                writeRun(ch, data, run, at, off + (run - from));
                run = at + n;
            }
        }
        writeRun(ch, data, run, end, off + (run - from));
    }

    private static void writeRun(FileChannel ch, byte[] data, int from, int to, long pos) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data, from, to - from);
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    private static FileTime time(fdrestore.api.image.proto.Timeval t) {
        return FileTime.from(t.getTvSec() * 1_000_000L + t.getTvUsec(), TimeUnit.MICROSECONDS);
    }

    @Override
    public String toString() {
        return Magic.GHOST_FILE.fileName(remapId) + " (" + size() + " bytes, mode 0"
                + Integer.toOctalString(head.getMode()) + ")";
    }
}
