package fdrestore.api.image.codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Objects;

/**
 * The raw bytes that follow an image entry (pipe data, a queued packet, a tcp queue, ghost file content),
 * as a view, never a copy held for the caller: either a range of the image file, read on demand with
 * positional reads (an image above {@link ImageReader}'s read-whole size), or a range of the array an
 * image read whole is already in (and of what a dumper hands over).
 *
 * <p>No file stays open between calls: each read opens the image, checks that it is still the file the
 * entry was decoded from (same inode, size and mtime), reads and closes it. So an {@link ImageFile} needs no
 * closing, and a server that keeps images keeps no fds.
 *
 * <p>Consumers read in bounded chunks ({@link #forEachChunk}) into a buffer of their own, or take the
 * whole payload as an array ({@link #bytes(long)}) only where it must be whole in memory (a datagram),
 * with a bound of their choosing.
 */
public final class Payload {
    /** The chunk size consumers should use: large enough for few syscalls, small next to any heap. */
    public static final int CHUNK = 1 << 20;

    private static final Payload EMPTY = new Payload(new byte[0], 0, 0, null, null, null, -1, -1, -1);

    private final byte[] array;
    private final int arrayOffset;
    private final Path file;
    private final Object fileKey;
    private final FileTime fileTime;
    private final long fileSize;
    private final long position;
    private final long length;
    private final int entry;

    private Payload(byte[] array, int arrayOffset, long length, Path file, Object fileKey, FileTime fileTime,
            long fileSize, long position, int entry) {
        this.array = array;
        this.arrayOffset = arrayOffset;
        this.length = length;
        this.file = file;
        this.fileKey = fileKey;
        this.fileTime = fileTime;
        this.fileSize = fileSize;
        this.position = position;
        this.entry = entry;
    }

    /** A payload of a copy of {@code data}. */
    public static Payload of(byte[] data) {
        return data.length == 0 ? EMPTY : new Payload(data.clone(), 0, data.length, null, null, null, -1, -1, -1);
    }

    /**
     * A view of {@code data[off, off+len)}, not copied: the caller never changes that range again.
     * {@code data} is a whole image, so {@code off} is also the payload's offset in it.
     */
    static Payload slice(byte[] data, int off, int len) {
        Objects.checkFromIndexSize(off, len, data.length);
        return new Payload(data, off, len, null, null, null, -1, off, -1);
    }

    /**
     * A view of {@code [position, position+length)} of image {@code file} as it is now: its inode, size and
     * mtime are kept, and a later read of a file that is no longer the same fails.
     */
    static Payload inFile(Path file, BasicFileAttributes attrs, long position, long length, int entry) {
        return new Payload(null, 0, length, file, attrs.fileKey(), attrs.lastModifiedTime(), attrs.size(), position,
                entry);
    }

    /** A buffer for {@link #forEachChunk}: {@link #CHUNK} bytes, or fewer for a short payload in the file. */
    public byte[] chunkBuffer() {
        return new byte[array != null ? 0 : (int) Math.min(CHUNK, length)];
    }

    /** The byte offset of the payload in its image, for errors; -1 when it comes from no image. */
    public long imageOffset() {
        return position;
    }

    /** The length in bytes. */
    public long length() {
        return length;
    }

    /** True when the bytes are in memory (reads make no syscall). */
    public boolean inMemory() {
        return array != null;
    }

    /** Receives the payload's chunks in order. */
    @FunctionalInterface
    public interface Sink {
        /**
         * {@code buf[off, off+len)} is the next chunk. The array is the caller's buffer or the payload's
         * own: read it, never change it or keep it past the call.
         */
        void accept(byte[] buf, int off, int len) throws IOException;
    }

    /**
     * Hands the payload to {@code sink} in chunks of at most {@code buf.length} bytes read into {@code buf}
     * (a payload in memory hands its own array, all of it in one call, without a copy). One open of the
     * image file for all of it.
     */
    public void forEachChunk(byte[] buf, Sink sink) throws IOException {
        if (buf.length == 0 && length > 0 && array == null) {
            throw new IllegalArgumentException("empty buffer");
        }
        if (array != null) {
            if (length > 0) {
                sink.accept(array, arrayOffset, (int) length);
            }
            return;
        }
        if (length == 0) {
            return;
        }
        try (FileChannel ch = open()) {
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(buf.length, length - done);
                readFully(ch, position + done, buf, 0, n);
                sink.accept(buf, 0, n);
                done += n;
            }
        }
    }

    /** Reads {@code len} bytes from offset {@code from} of the payload into {@code dst[off, off+len)}. */
    public void read(long from, byte[] dst, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, dst.length);
        if (from < 0 || len > length - from) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + from + "+" + len + ") of a " + length
                    + "-byte payload");
        }
        if (array != null) {
            System.arraycopy(array, arrayOffset + (int) from, dst, off, len);
            return;
        }
        try (FileChannel ch = open()) {
            readFully(ch, position + from, dst, off, len);
        }
    }

    /**
     * The whole payload in a new array, for a consumer that must hold it whole (a datagram goes in one
     * sendmsg). Refuses a payload above {@code max} bytes before reading any of it.
     */
    public byte[] bytes(long max) throws IOException {
        if (length > max || length > ImageReader.MAX_PAYLOAD) {
            throw new IOException("a payload of " + length + " bytes, more than the " + Math.min(max,
                    ImageReader.MAX_PAYLOAD) + " bytes that may be held in memory for it" + where());
        }
        if (array != null) {
            return Arrays.copyOfRange(array, arrayOffset, arrayOffset + (int) length);
        }
        byte[] out = new byte[(int) length];
        read(0, out, 0, out.length);
        return out;
    }

    /** A read-only buffer over the bytes: only for a payload in memory (no copy). */
    public ByteBuffer asReadOnlyBuffer() {
        if (array == null) {
            throw new IllegalStateException("the payload is in the image file" + where() + ": read it in chunks");
        }
        return ByteBuffer.wrap(array, arrayOffset, (int) length).slice().asReadOnlyBuffer();
    }

    private FileChannel open() throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            BasicFileAttributes now = Files.readAttributes(file, BasicFileAttributes.class);
            if (!Objects.equals(now.fileKey(), fileKey) || !now.lastModifiedTime().equals(fileTime)
                    || ch.size() != fileSize) {
                throw new IOException("image " + file + " changed since it was read (another file, size or"
                        + " mtime): entry " + entry + "'s payload is no longer there");
            }
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void readFully(FileChannel ch, long at, byte[] dst, int off, int len) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(dst, off, len);
        while (bb.hasRemaining()) {
            if (ch.read(bb, at + (bb.position() - off)) < 0) {
                throw new IOException("image " + file + " ends inside entry " + entry + "'s payload (at byte "
                        + (at + bb.position() - off) + ")");
            }
        }
    }

    private String where() {
        return file == null ? "" : " (" + file.getFileName() + " entry " + entry + ")";
    }

    /** Same length and same bytes (compared chunk by chunk: two image files are read, not held). */
    @Override
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        if (!(o instanceof Payload p) || p.length != length) {
            return false;
        }
        try {
            byte[] a = new byte[(int) Math.min(CHUNK, Math.max(1, length))];
            byte[] b = new byte[a.length];
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(a.length, length - done);
                read(done, a, 0, n);
                p.read(done, b, 0, n);
                if (!Arrays.equals(a, 0, n, b, 0, n)) {
                    return false;
                }
                done += n;
            }
            return true;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The length only: equal payloads have equal lengths, and hashing never reads a file. */
    @Override
    public int hashCode() {
        return Long.hashCode(length);
    }

    @Override
    public String toString() {
        return length + " payload bytes" + (position < 0 ? "" : " at byte " + position) + (file == null ? ""
                : " of " + file);
    }
}
