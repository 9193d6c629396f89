package fdrestore.api.image.codec;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Strict, bounded decoder of CRIU image files (and fdrestore's own {@code fdr-task.img}).
 *
 * <p>Nothing is allocated from a size read out of the file before that size has been checked
 * against {@link #MAX_ENTRY_SIZE} (for messages) and against the bytes actually left in the file.
 * Every problem is reported as one {@link ImageFormatException} naming the file, the entry index
 * (-1 for the header) and the byte offset.
 */
public final class ImageReader {
    /** The largest protobuf entry accepted: 64 MiB. */
    public static final int MAX_ENTRY_SIZE = 64 << 20;

    /** The largest payload that fits a Java array ({@link Payload#bytes}). */
    static final long MAX_PAYLOAD = Integer.MAX_VALUE - 16;

    private ImageReader() {
    }

    /**
     * Reads an image whose kind follows from its file name, or, for a name fdrestore does not know,
     * from its magic numbers.
     */
    public static ImageFile read(Path file) throws IOException {
        Path name = file.getFileName();
        Optional<Magic> byName = name == null ? Optional.empty() : Magic.forFileName(name.toString());
        return read(file, byName.orElse(null));
    }

    /**
     * Images up to this size are read whole, with one read, and decoded in memory (their payloads are
     * slices of that array); larger ones (big pipe data, a ghost file) are read entry by entry, and their
     * payloads stay in the file: a {@link Payload} reads them on demand, so no payload size is bounded by
     * the heap. A 48,000-entry files.img is about 3 MiB: read entry by entry it took two preads an entry.
     */
    static final long READ_WHOLE = 16L << 20;

    /** Reads an image that must be of kind {@code expected} (null: take the kind from the header). */
    public static ImageFile read(Path file, Magic expected) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size <= READ_WHOLE) {
                byte[] all = new ChannelInput(ch, file, null).read(0, (int) size);
                return decode(new ArrayInput(all), file, expected);
            }
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            if (attrs.size() != size) {
                throw new IOException("image " + file + " changed while being opened");
            }
            return decode(new ChannelInput(ch, file, attrs), file, expected);
        }
    }

    /**
     * Decodes an image held in memory. {@code source} only names the image in error messages;
     * {@code expected} may be null. The payloads are views of {@code image}, which is kept, not copied:
     * the caller never changes it again.
     */
    public static ImageFile read(byte[] image, Path source, Magic expected) throws ImageFormatException {
        try {
            return decode(new ArrayInput(image), source, expected);
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new AssertionError("in-memory image cannot fail to read", e);
        }
    }

    private static ImageFile decode(Input in, Path file, Magic expected) throws IOException {
        final long size = in.size();
        Magic magic = readHeader(in, file, expected, size);
        long pos = magic.headerLength();
        List<ImageEntry> entries = new ArrayList<>();
        int index = 0;
        while (pos < size) {
            long left = size - pos;
            if (left < 4) {
                throw new ImageFormatException(file, index, pos, "truncated size prefix: " + left
                        + " byte(s) left where a 4-byte entry size was expected");
            }
            long len = Integer.toUnsignedLong(in.readIntLE(pos));
            long msgStart = pos + 4;
            long remaining = size - msgStart;
            if (len > MAX_ENTRY_SIZE) {
                throw new ImageFormatException(file, index, pos, "entry size " + len + " bytes is above the "
                        + MAX_ENTRY_SIZE + "-byte (64 MiB) limit" + (len > remaining
                                ? " and past the end of the file (" + remaining + " bytes left)" : "")
                        + "; the image is corrupt");
            }
            if (len > remaining) {
                throw new ImageFormatException(file, index, pos, "entry size " + len
                        + " bytes runs past the end of the file: only " + remaining
                        + " bytes left after the size prefix (truncated image?)");
            }
            Message proto = Layout.prototypeFor(magic, index, entries);
            byte[] buf = in.read(msgStart, (int) len);
            Message m;
            try {
                m = proto.getParserForType().parsePartialFrom(buf);
            } catch (InvalidProtocolBufferException e) {
                throw new ImageFormatException(file, index, msgStart, "invalid protobuf for "
                        + Layout.typeName(proto) + " (" + len + " bytes): " + e.getMessage(), e);
            }
            if (!m.isInitialized()) {
                throw new ImageFormatException(file, index, msgStart, Layout.typeName(proto)
                        + " is missing required field(s): " + String.join(", ", m.findInitializationErrors()));
            }
            pos = msgStart + len;
            long plen = Layout.payloadLength(magic, m, index);
            Payload payload = null;
            if (plen != Layout.NONE) {
                long avail = size - pos;
                if (plen == Layout.TO_EOF) {
                    plen = avail;
                } else if (plen > avail) {
                    throw new ImageFormatException(file, index, pos, "payload shorter than announced: "
                            + Layout.typeName(m) + " announces " + plen + " bytes ("
                            + Layout.payloadField(magic, index) + ") but only " + avail
                            + " bytes are left in the file");
                }
                payload = in.payload(pos, plen, index); // a view: not a byte of it is read here
                pos += plen;
            }
            entries.add(new ImageEntry(m, payload));
            index++;
        }
        return new ImageFile(magic, entries);
    }

    private static Magic readHeader(Input in, Path file, Magic expected, long size) throws IOException {
        String what = expected == null ? "" : " (expected a " + expected.describe() + " image)";
        if (size < 4) {
            throw new ImageFormatException(file, -1, 0, "truncated header: the file has " + size
                    + " byte(s), an image header needs " + (expected == null ? 4 : expected.headerLength()) + what);
        }
        int first = in.readIntLE(0);
        Integer second = size >= 8 ? in.readIntLE(4) : null;
        Optional<Magic> found = second == null
                ? (first == Magic.INVENTORY.typeMagic() ? Optional.of(Magic.INVENTORY) : Optional.empty())
                : Magic.forHeader(first, second);
        if (expected == null) {
            if (first == Magic.COMMON_MAGIC && second == null) {
                throw new ImageFormatException(file, -1, 0, "truncated header: the file has " + size
                        + " byte(s), an image header needs 8");
            }
            if (found.isEmpty()) {
                throw new ImageFormatException(file, -1, 0, "unknown magic: found " + words(first, second)
                        + ", which is no image kind fdrestore knows");
            }
            return found.get();
        }
        int wantFirst = expected.hasCommonMagic() ? Magic.COMMON_MAGIC : expected.typeMagic();
        if (first == wantFirst && expected.hasCommonMagic() && second == null) {
            throw new ImageFormatException(file, -1, 0, "truncated header: the file has " + size
                    + " byte(s), an image header needs 8" + what);
        }
        if (first != wantFirst || (expected.hasCommonMagic() && second != expected.typeMagic())) {
            long at = first == wantFirst ? 4 : 0;
            throw new ImageFormatException(file, -1, at, "wrong magic: found " + words(first, second)
                    + (found.isPresent() ? " (a " + found.get().describe() + " image)" : " (no known image kind)")
                    + ", expected " + (expected.hasCommonMagic()
                            ? Magic.hex(Magic.COMMON_MAGIC) + " " + Magic.hex(expected.typeMagic())
                            : Magic.hex(expected.typeMagic()))
                    + " for a " + expected.describe() + " image");
        }
        return expected;
    }

    private static String words(int first, Integer second) {
        if (first == Magic.INVENTORY.typeMagic() || second == null) {
            return Magic.hex(first);
        }
        return Magic.hex(first) + " " + Magic.hex(second);
    }

    /** Random access to the image bytes. */
    private interface Input {
        long size() throws IOException;

        byte[] read(long pos, int len) throws IOException;

        /** A view of {@code [pos, pos+len)}, the payload of entry {@code index}. */
        Payload payload(long pos, long len, int index);

        default int readIntLE(long pos) throws IOException {
            return intLE(read(pos, 4), 0);
        }
    }

    /** The little-endian u32 at {@code b[off..off+4)}. */
    private static int intLE(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    private static final class ArrayInput implements Input {
        private final byte[] data;

        ArrayInput(byte[] data) {
            this.data = data;
        }

        @Override
        public long size() {
            return data.length;
        }

        @Override
        public byte[] read(long pos, int len) {
            byte[] out = new byte[len];
            System.arraycopy(data, (int) pos, out, 0, len);
            return out;
        }

        @Override
        public int readIntLE(long pos) {
            return intLE(data, (int) pos);
        }

        @Override
        public Payload payload(long pos, long len, int index) {
            return Payload.slice(data, (int) pos, (int) len);
        }
    }

    private static final class ChannelInput implements Input {
        private final FileChannel ch;
        private final long size;
        private final Path file;
        private final BasicFileAttributes attrs;

        ChannelInput(FileChannel ch, Path file, BasicFileAttributes attrs) throws IOException {
            this.ch = ch;
            this.size = ch.size();
            this.file = file;
            this.attrs = attrs;
        }

        @Override
        public Payload payload(long pos, long len, int index) {
            return Payload.inFile(file, attrs, pos, len, index);
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public byte[] read(long pos, int len) throws IOException {
            byte[] out = new byte[len];
            ByteBuffer bb = ByteBuffer.wrap(out);
            while (bb.hasRemaining()) {
                int n = ch.read(bb, pos + bb.position());
                if (n < 0) {
                    throw new EOFException("image file shrank while being read (at byte "
                            + (pos + bb.position()) + ")");
                }
            }
            return out;
        }
    }
}
