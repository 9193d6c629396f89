package fdrestore.api.image.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt images: each gives one ImageFormatException naming the file, the entry and the offset. */
class BadImageTest {
    @TempDir
    Path dir;

    private static FdinfoEntry fd(int n) {
        return FdinfoEntry.newBuilder().setId(n + 10).setFlags(0).setType(1).setFd(n).build();
    }

    /** A valid fdinfo image with three entries of 8 bytes each: entries start at 8, 20, 32; end 44. */
    private static byte[] fdinfo() {
        return ImageWriter.toBytes(new ImageFile(Magic.FDINFO,
                List.of(ImageEntry.of(fd(0)), ImageEntry.of(fd(1)), ImageEntry.of(fd(2)))));
    }

    private static byte[] header(Magic m) {
        return ImageWriter.toBytes(new ImageFile(m, List.of()));
    }

    private static byte[] u32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    private static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Reads {@code bytes} as file {@code name}, both from disk and from memory, and checks the report. */
    private ImageFormatException fails(String name, byte[] bytes, Magic expected, int entry, long offset,
            String... phrases) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        // null: let the reader infer the kind from the file name (or the header for unknown names)
        ImageFormatException e = assertThrows(ImageFormatException.class,
                () -> { if (expected == null) { ImageReader.read(p); } else { ImageReader.read(p, expected); } });
        Magic inMemory = expected != null ? expected : Magic.forFileName(name).orElse(null);
        ImageFormatException e2 = assertThrows(ImageFormatException.class,
                () -> ImageReader.read(bytes, p, inMemory));
        assertEquals(e.getMessage(), e2.getMessage(), "file and memory readers report alike");
        String msg = e.getMessage();
        assertEquals(p, e.image());
        assertEquals(entry, e.entry(), msg);
        assertEquals(offset, e.offset(), msg);
        assertTrue(msg.startsWith(p.toString() + ": "), "names the file: " + msg);
        assertTrue(msg.contains(entry < 0 ? "header" : "entry " + entry), "names the entry: " + msg);
        assertTrue(msg.contains("at byte " + offset), "names the offset: " + msg);
        for (String s : phrases) {
            assertTrue(msg.contains(s), "'" + s + "' missing from: " + msg);
        }
        return e;
    }

    @Test
    void validImageReadsBack() throws Exception {
        Path p = dir.resolve("fdinfo-7.img");
        Files.write(p, fdinfo());
        ImageFile f = ImageReader.read(p);
        assertEquals(Magic.FDINFO, f.magic());
        assertEquals(List.of(fd(0), fd(1), fd(2)), f.messages(FdinfoEntry.class));
        assertEquals(44, fdinfo().length, "layout the other tests rely on");
    }

    @Test
    void truncatedHeader() throws Exception {
        byte[] img = Arrays.copyOf(fdinfo(), 6);
        fails("fdinfo-2.img", img, null, -1, 0, "truncated header", "6 byte(s)", "needs 8");
        fails("mystery.img", img, null, -1, 0, "truncated header", "6 byte(s)", "needs 8");
        fails("mystery.img", new byte[] {1, 2, 3}, null, -1, 0, "truncated header", "3 byte(s)", "needs 4");
        fails("fdinfo-2.img", img, Magic.FDINFO, -1, 0, "truncated header", "FDINFO");
        fails("fdinfo-2.img", new byte[0], Magic.FDINFO, -1, 0, "truncated header", "0 byte(s)");
        fails("inventory.img", new byte[] {0x16, 0x11}, Magic.INVENTORY, -1, 0, "truncated header", "needs 4");
    }

    @Test
    void wrongMagic() throws Exception {
        byte[] files = cat(header(Magic.FILES), Arrays.copyOfRange(fdinfo(), 8, 44));
        fails("fdinfo-2.img", files, null, -1, 4, "wrong magic", "found 0x54564319 0x56303138",
                "FILES (0x56303138)", "expected 0x54564319 0x56213732", "FDINFO (0x56213732)");
        fails("fdinfo-2.img", files, Magic.FDINFO, -1, 4, "wrong magic", "expected 0x54564319 0x56213732");
        // an inventory where a common-magic image is expected, and the other way round
        fails("pstree.img", header(Magic.INVENTORY), Magic.PSTREE, -1, 0, "found 0x58313116",
                "INVENTORY", "expected 0x54564319 0x50273030");
        fails("inventory.img", header(Magic.PSTREE), Magic.INVENTORY, -1, 0, "found 0x54564319 0x50273030",
                "expected 0x58313116");
        // unknown magic: no image kind has it
        byte[] junk = cat(u32(0x54564319), u32(0x12345678), u32(0));
        fails("fdinfo-2.img", junk, Magic.FDINFO, -1, 4, "found 0x54564319 0x12345678", "no known image kind");
        fails("mystery.bin", junk, null, -1, 0, "unknown magic", "0x12345678");
        fails("mystery.bin", cat(u32(0xdeadbeefL), u32(1)), null, -1, 0, "unknown magic", "0xdeadbeef");
    }

    @Test
    void truncatedSizePrefix() throws Exception {
        byte[] img = cat(fdinfo(), new byte[] {8, 0});
        fails("fdinfo-2.img", img, null, 3, 44, "truncated size prefix", "2 byte(s) left");
    }

    @Test
    void truncatedEntryBody() throws Exception {
        byte[] img = Arrays.copyOf(fdinfo(), 40);
        fails("fdinfo-2.img", img, null, 2, 32, "entry size 8 bytes runs past the end of the file",
                "only 4 bytes left");
    }

    @Test
    void sizePrefixPastEndOfFile() throws Exception {
        byte[] img = cat(header(Magic.FDINFO), u32(100), new byte[10]);
        fails("fdinfo-2.img", img, null, 0, 8, "entry size 100 bytes runs past the end of the file",
                "only 10 bytes left");
    }

    @Test
    void hugeSizePrefixIsRejectedFastWithoutAllocating() {
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            byte[] img = cat(fdinfo(), u32(0xFFFFFFFFL), new byte[16]);
            for (int i = 0; i < 1000; i++) { // would be 4 TB of allocation if it allocated
                assertThrows(ImageFormatException.class,
                        () -> ImageReader.read(img, dir.resolve("fdinfo-2.img"), Magic.FDINFO));
            }
        });
    }

    @Test
    void hugeSizePrefix() throws Exception {
        byte[] img = cat(fdinfo(), u32(0xFFFFFFFFL), new byte[16]);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> fails("fdinfo-2.img", img, null, 3, 44,
                "entry size 4294967295 bytes is above the 67108864-byte (64 MiB) limit",
                "past the end of the file (16 bytes left)"));
        // just above the cap, with the bytes really there? Use a cap+1 prefix on a small file
        byte[] img2 = cat(header(Magic.FDINFO), u32(ImageReader.MAX_ENTRY_SIZE + 1L));
        fails("fdinfo-2.img", img2, null, 0, 8, "above the 67108864-byte");
    }

    @Test
    void hugeSizePrefixOnDiskDoesNotRunOutOfMemory() throws Exception {
        // 70 MiB sparse-ish file whose only entry announces 0xFFFFFFFF
        Path p = dir.resolve("fdinfo-9.img");
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(cat(header(Magic.FDINFO), u32(0xFFFFFFFFL))));
            ch.write(ByteBuffer.wrap(new byte[1]), 70L << 20);
        }
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> ImageReader.read(p));
        assertEquals(0, e.entry());
        assertEquals(8, e.offset());
        assertTrue(e.getMessage().contains("64 MiB"), e.getMessage());
    }

    @Test
    void invalidProtobuf() throws Exception {
        // field 1 varint whose continuation bits never end
        byte[] body = {0x08, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        byte[] img = cat(Arrays.copyOf(fdinfo(), 20), u32(body.length), body);
        ImageFormatException e = fails("fdinfo-2.img", img, null, 1, 24,
                "invalid protobuf for FdinfoEntry (4 bytes)");
        assertInstanceOf(InvalidProtocolBufferException.class, e.getCause());
        // wire type 7 does not exist
        byte[] body2 = {0x0f};
        fails("fdinfo-2.img", cat(header(Magic.FDINFO), u32(1), body2), null, 0, 12,
                "invalid protobuf for FdinfoEntry");
    }

    @Test
    void missingRequiredField() throws Exception {
        byte[] body = FdinfoEntry.newBuilder().setId(3).setFd(4).buildPartial().toByteArray();
        byte[] img = cat(Arrays.copyOf(fdinfo(), 32), u32(body.length), body);
        fails("fdinfo-2.img", img, null, 2, 36, "FdinfoEntry is missing required field(s): flags, type");
    }

    @Test
    void shortPayload() throws Exception {
        byte[] body = PipeDataEntry.newBuilder().setPipeId(7).setBytes(100).build().toByteArray();
        byte[] img = cat(header(Magic.PIPES_DATA), u32(body.length), body, new byte[10]);
        fails("pipes-data.img", img, null, 0, 12 + body.length, "payload shorter than announced",
                "PipeDataEntry announces 100 bytes (bytes)", "only 10 bytes are left");

        byte[] pkt = SkPacketEntry.newBuilder().setIdFor(5).setLength(9).build().toByteArray();
        byte[] ok = cat(header(Magic.SK_QUEUES), u32(pkt.length), pkt, new byte[9]);
        byte[] img2 = cat(ok, u32(pkt.length), pkt, new byte[8]);
        fails("sk-queues.img", img2, null, 1, ok.length + 4 + pkt.length, "SkPacketEntry announces 9 bytes (length)",
                "only 8 bytes");

        byte[] tcp = TcpStreamEntry.newBuilder().setInqLen(3).setInqSeq(1).setOutqLen(4).setOutqSeq(2)
                .setOptMask(0).setSndWscale(7).setMssClamp(1460).build().toByteArray();
        fails("tcp-stream-77.img", cat(header(Magic.TCP_STREAM), u32(tcp.length), tcp, new byte[6]), null, 0,
                12 + tcp.length, "announces 7 bytes (inq_len + outq_len)", "only 6 bytes");

        byte[] head = GhostFileEntry.newBuilder().setUid(0).setGid(0).setMode(0100644).setChunks(true).build()
                .toByteArray();
        byte[] chunk = GhostChunkEntry.newBuilder().setLen(50).setOff(0).build().toByteArray();
        fails("ghost-file-3.img", cat(header(Magic.GHOST_FILE), u32(head.length), head, u32(chunk.length), chunk,
                new byte[49]), null, 1, 16 + head.length + chunk.length, "GhostChunkEntry announces 50 bytes (len)");
    }
}
