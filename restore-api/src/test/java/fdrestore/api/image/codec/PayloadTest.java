package fdrestore.api.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.PipeDataEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 item 6: payloads are views of the image, never read whole. A sparse image whose payloads add up
 * to far more than this JVM's heap is decoded in no time, its payload read in ranges and chunks.
 */
class PayloadTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    /**
     * A pipes-data image with one entry per length, each payload a hole but for {@code mark} written at
     * its start; returns the payload offsets.
     */
    static long[] sparsePipesData(Path file, long[] lengths, byte[] mark) throws IOException {
        long[] at = new long[lengths.length];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(Magic.COMMON_MAGIC).putInt(Magic.PIPES_DATA.typeMagic()).flip();
            long pos = ch.write(h, 0);
            for (int i = 0; i < lengths.length; i++) {
                byte[] m = PipeDataEntry.newBuilder().setPipeId(100 + i).setBytes((int) lengths[i]).build().toByteArray();
                ByteBuffer b = ByteBuffer.allocate(4 + m.length).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(m.length).put(m).flip();
                pos += ch.write(b, pos);
                at[i] = pos;
                ch.write(ByteBuffer.wrap(mark), pos);
                pos += lengths[i];
            }
            ch.write(ByteBuffer.wrap(new byte[] {0}), pos - 1); // the last payload's last byte: the file's size
        }
        return at;
    }

    @Test
    void payloadsFarLargerThanTheHeapAreViewsOfTheFile(@TempDir Path tmp) throws Exception {
        long heap = Runtime.getRuntime().maxMemory();
        long each = 0xF000_0000L; // 3.75 GiB: what a u32 length allows
        int n = (int) Math.max(2, heap / each + 2); // together more than the heap
        long[] lengths = new long[n];
        java.util.Arrays.fill(lengths, each);
        Path img = tmp.resolve("pipes-data.img");
        byte[] mark = "queued".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        sparsePipesData(img, lengths, mark);
        assertTrue(Files.size(img) > heap, "the image announces more than the heap");
        ImageFile f = assertTimeoutPreemptively(LIMIT, () -> ImageReader.read(img));
        assertEquals(n, f.size());
        for (ImageEntry e : f.entries()) {
            Payload p = e.payloadView();
            assertEquals(each, p.length());
            assertEquals(each, e.payloadLength());
            assertFalse(p.inMemory(), "a view of the file, not an array");
            byte[] head = new byte[mark.length + 2];
            p.read(0, head, 0, head.length);
            assertArrayEquals(java.util.Arrays.copyOf(mark, head.length), head);
            byte[] tail = new byte[3];
            p.read(each - 3, tail, 0, 3);
            assertArrayEquals(new byte[3], tail);
            // An array of it is refused before a byte is read, with the image and the entry named.
            UncheckedIOException x = assertThrows(UncheckedIOException.class, e::payload);
            assertTrue(x.getMessage().contains("pipes-data.img entry ") && x.getMessage().contains(each + " bytes"),
                    x.getMessage());
        }
        assertThrows(IllegalStateException.class, () -> f.entry(0).payloadView().asReadOnlyBuffer());
    }

    @Test
    void chunksComeThroughOneBufferAndAddUpToThePayload(@TempDir Path tmp) throws Exception {
        long len = ImageReader.READ_WHOLE + 3 * Payload.CHUNK + 17; // read entry by entry
        Path img = tmp.resolve("pipes-data.img");
        sparsePipesData(img, new long[] {len}, new byte[] {1, 2, 3});
        Payload p = ImageReader.read(img).entry(0).payloadView();
        assertFalse(p.inMemory());
        byte[] buf = p.chunkBuffer();
        assertEquals(Payload.CHUNK, buf.length);
        long[] seen = {0, 0};
        p.forEachChunk(buf, (b, off, n) -> {
            assertTrue(b == buf && n <= Payload.CHUNK, "the caller's buffer, at most a chunk");
            if (seen[0] == 0) {
                assertEquals(1, b[off]);
                assertEquals(3, b[off + 2]);
            }
            seen[0] += n;
            seen[1]++;
        });
        assertEquals(len, seen[0]);
        assertEquals((len + Payload.CHUNK - 1) / Payload.CHUNK, seen[1]);
    }

    @Test
    void aSmallImageIsReadWholeAndItsPayloadsAreSlicesOfIt(@TempDir Path tmp) throws Exception {
        ImageFile in = new ImageFile(Magic.PIPES_DATA, List.of(
                new ImageEntry(PipeDataEntry.newBuilder().setPipeId(1).setBytes(3).build(), new byte[] {7, 8, 9}),
                new ImageEntry(PipeDataEntry.newBuilder().setPipeId(2).setBytes(2).build(), new byte[] {5, 6})));
        Path img = tmp.resolve("pipes-data.img");
        ImageWriter.write(in, img);
        ImageFile back = ImageReader.read(img);
        Payload p = back.entry(1).payloadView();
        assertTrue(p.inMemory());
        assertEquals(2, p.asReadOnlyBuffer().remaining());
        assertEquals(5, p.asReadOnlyBuffer().get(0));
        assertTrue(p.asReadOnlyBuffer().isReadOnly());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.forEachChunk(p.chunkBuffer(), out::write);
        assertArrayEquals(new byte[] {5, 6}, out.toByteArray());
        assertEquals(in, back);
        assertArrayEquals(Files.readAllBytes(img), ImageWriter.toBytes(back));
    }

    @Test
    void anImageReplacedAfterItWasReadIsNotReadForItsPayload(@TempDir Path tmp) throws Exception {
        long len = ImageReader.READ_WHOLE + 10;
        Path img = tmp.resolve("pipes-data.img");
        sparsePipesData(img, new long[] {len}, new byte[] {1});
        Payload p = ImageReader.read(img).entry(0).payloadView();
        Files.delete(img);
        sparsePipesData(img, new long[] {len}, new byte[] {2}); // another inode, same size
        IOException x = assertThrows(IOException.class, () -> p.read(0, new byte[1], 0, 1));
        assertTrue(x.getMessage().contains("changed since it was read"), x.getMessage());
    }
}
