package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Encoder of images in CRIU's framing. {@code ImageReader.read} followed by {@code write}
 * reproduces the image byte for byte. The writer refuses entries that the reader would reject:
 * wrong message type, missing required fields, a payload that does not match the length its entry
 * announces, an entry above {@link ImageReader#MAX_ENTRY_SIZE}.
 */
public final class ImageWriter {
    private ImageWriter() {
    }

    /** Writes {@code image} to {@code out} (which is not closed). */
    public static void write(ImageFile image, OutputStream out) throws IOException {
        Magic magic = image.magic();
        if (magic.hasCommonMagic()) {
            writeIntLE(out, Magic.COMMON_MAGIC);
        }
        writeIntLE(out, magic.typeMagic());
        List<ImageEntry> entries = image.entries();
        for (int i = 0; i < entries.size(); i++) {
            ImageEntry e = entries.get(i);
            Message m = e.message();
            Message proto = Layout.prototypeFor(magic, i, entries.subList(0, i));
            if (m.getDescriptorForType() != proto.getDescriptorForType()) {
                throw new IllegalArgumentException(magic + " entry " + i + " must be a " + Layout.typeName(proto)
                        + ", not a " + Layout.typeName(m));
            }
            if (!m.isInitialized()) {
                throw new IllegalArgumentException(magic + " entry " + i + ": " + Layout.typeName(m)
                        + " is missing required field(s): " + String.join(", ", m.findInitializationErrors()));
            }
            if (i > 0 && Layout.isLast(magic, entries.get(i - 1).message(), i - 1)) {
                throw new IllegalArgumentException(magic + " entry " + i
                        + ": no entry may follow a ghost file head without chunks");
            }
            long plen = Layout.payloadLength(magic, m, i);
            if (plen == Layout.NONE && e.hasPayload()) {
                throw new IllegalArgumentException(magic + " entry " + i + " carries a payload but "
                        + Layout.typeName(m) + " entries have none");
            }
            if (plen != Layout.NONE && !e.hasPayload()) {
                throw new IllegalArgumentException(magic + " entry " + i + " needs a payload ("
                        + Layout.payloadField(magic, i) + ")");
            }
            if (plen >= 0 && plen != e.payloadLength()) {
                throw new IllegalArgumentException(magic + " entry " + i + ": " + Layout.typeName(m)
                        + " announces " + plen + " payload bytes (" + Layout.payloadField(magic, i)
                        + ") but the entry carries " + e.payloadLength());
            }
            byte[] body = m.toByteArray();
            if (body.length > ImageReader.MAX_ENTRY_SIZE) {
                throw new IllegalArgumentException(magic + " entry " + i + " is " + body.length
                        + " bytes, above the " + ImageReader.MAX_ENTRY_SIZE + "-byte limit");
            }
            writeIntLE(out, body.length);
            out.write(body);
            if (e.hasPayload()) {
                Payload p = e.payloadView();
                p.forEachChunk(p.chunkBuffer(), out::write);
            }
        }
    }

    /** The encoded image. */
    public static byte[] toBytes(ImageFile image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            write(image, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Writes {@code image} to {@code file}, replacing it. */
    public static void write(ImageFile image, Path file) throws IOException {
        Files.write(file, toBytes(image));
    }

    private static void writeIntLE(OutputStream out, int v) throws IOException {
        out.write(v & 0xff);
        out.write((v >>> 8) & 0xff);
        out.write((v >>> 16) & 0xff);
        out.write((v >>> 24) & 0xff);
    }
}
