package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 item 6 (and issue 22's hostile list): images whose payloads announce more than the heap can
 * hold, written sparse (a few KB on disk). Payloads are views of the image file, read in chunks where they
 * are used: {@code show} never reads them and stays small and fast; {@code restore} streams a ghost file
 * of any size; what cannot be restored (pipe data larger than the pipe) is refused with one line naming
 * the image and the entry, exit 2, no stack trace and no OutOfMemoryError, and leaves nothing.
 */
class HardeningPayloadTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final long GB = 1_000_000_000L;

    /** A copy of sample {@code name}'s images (not its root) in {@code dir}. */
    static Path copyImages(String name, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (var l = Files.list(Samples.criu(name))) {
            for (Path p : (Iterable<Path>) l::iterator) {
                if (p.getFileName().toString().endsWith(".img")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
        return dir;
    }

    /**
     * Rewrites {@code image} with its own 8-byte header and then each message followed by a payload of the
     * given length, left as a hole: the file is sparse.
     */
    static void writeSparse(Path image, List<Message> messages, List<Long> payloads) throws IOException {
        byte[] header = new byte[8];
        try (FileChannel in = FileChannel.open(image, StandardOpenOption.READ)) {
            in.read(ByteBuffer.wrap(header), 0);
        }
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = 0;
            pos += ch.write(ByteBuffer.wrap(header), pos);
            for (int i = 0; i < messages.size(); i++) {
                byte[] m = messages.get(i).toByteArray();
                ByteBuffer b = ByteBuffer.allocate(4 + m.length).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(m.length).put(m).flip();
                pos += ch.write(b, pos);
                pos += payloads.get(i);
            }
            ch.truncate(pos);
            if (ch.size() < pos) {
                ch.write(ByteBuffer.wrap(new byte[1]), pos - 1); // extends the file with a hole before the byte
            }
        }
    }

    /** Sets the size that files.img records for regular file {@code id} (what a ghost must hold). */
    static void setRegSize(Path images, int id, long size) throws IOException {
        Path files = images.resolve("files.img");
        ImageFile f = ImageReader.read(files);
        List<ImageEntry> out = new ArrayList<>();
        for (ImageEntry e : f.entries()) {
            FileEntry fe = e.message(FileEntry.class);
            out.add(fe.getId() != id ? e : ImageEntry.of(fe.toBuilder().setReg(fe.getReg().toBuilder().setSize(size)).build()));
        }
        ImageWriter.write(new ImageFile(f.magic(), out), files);
    }

    static void assertOneLine(CliRunner r, int code, String... parts) {
        assertEquals(code, r.code, r.toString());
        String err = r.err.strip();
        assertEquals(1, err.lines().count(), "one line: " + r);
        for (String part : parts) {
            assertTrue(err.contains(part), "names " + part + ": " + r);
        }
        assertFalse(r.toString().contains("\tat ") || r.toString().contains("OutOfMemoryError"), r.toString());
    }

    @Test
    void aSparse6GbPipesDataImageIsShownWithoutReadingItAndItsRestoreRefused(@TempDir Path tmp) throws Exception {
        Path images = copyImages("a_pipe", tmp.resolve("images"));
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        List<Message> msgs = new ArrayList<>();
        List<Long> lens = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            long n = 3 * GB / 2; // 4 x 1.5 GB = 6 GB; the last one is the sample's pipe
            msgs.add(PipeDataEntry.newBuilder().setPipeId(i == 3 ? 421542 : 7 + i).setBytes((int) n)
                    .setSize(1 << 20).build());
            lens.add(n);
        }
        Path data = images.resolve("pipes-data.img");
        writeSparse(data, msgs, lens);
        Map<String, String> tree = HardeningSupport.tree(root);
        Map<Integer, String> fds = HardeningSupport.jvmFds();
        for (String[] args : new String[][] {{"show", images.toString()}, {"show", "--json", images.toString()}}) {
            long t0 = System.nanoTime();
            CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run(args));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.code, r.toString());
            assertFalse(r.out.contains("cannot describe"), r.toString());
            assertTrue(r.out.contains("1500000000"), "the queued length is shown: " + r);
            assertFalse(r.toString().contains("\tat ") || r.toString().contains("OutOfMemoryError"), r.toString());
            assertTrue(ms < 10_000, "show reads no payload: " + ms + " ms");
            System.out.printf("HARDENING payload: %s of a %d-byte sparse 6 GB pipes-data.img: exit %d in %d ms%n",
                    String.join(" ", args).replace(tmp.toString(), "T"), Files.size(data), r.code, ms);
        }
        // crit's JSON is made whole: an image that would not fit is refused before a byte is read
        CliRunner crit = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("image", "show", data.toString()));
        assertOneLine(crit, crit.code, "pipes-data.img", "6000000074 bytes", "heap");
        assertTrue(crit.code != 0, crit.toString());
        System.out.printf("HARDENING payload: image show of the sparse 6 GB pipes-data.img: exit %d, %s%n", crit.code,
                crit.err.strip().replace(tmp.toString(), "T"));
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--root", root.toString(),
                "--verify", "--then=kill", images.toString()));
        assertOneLine(r, 2, "pipes-data.img: entry 3", "fd 3", "pipe 421542", "1500000000");
        System.out.printf("HARDENING payload: restore of the sparse 6 GB pipes-data.img: exit %d, %s%n", r.code,
                r.err.strip());
        assertEquals(List.of(), HardeningSupport.leftovers(fds, root, tree));
    }

    /**
     * A 4 GiB ghost file, more than the heap's quarter that the payloads once were bounded by: its content
     * is streamed from the image, and a hole stays a hole, so the restore takes no heap and no disk for it.
     */
    @Test
    void aSparse4GibGhostFileIsShownAndRestored(@TempDir Path tmp) throws Exception {
        long total = 4L << 30;
        Path images = copyImages("v_ghost", tmp.resolve("images"));
        Path root = Samples.prepareRoot("v_ghost", tmp.resolve("root"));
        Path ghost = images.resolve("ghost-file-1.img");
        GhostFileEntry head = ImageReader.read(ghost).entries().get(0).message(GhostFileEntry.class);
        List<Message> msgs = new ArrayList<>(List.of(head.toBuilder().setChunks(true).setSize(total).build()));
        List<Long> lens = new ArrayList<>(List.of(0L));
        for (long off = 0; off < total; off += 1L << 30) {
            msgs.add(GhostChunkEntry.newBuilder().setOff(off).setLen(1L << 30).build());
            lens.add(1L << 30);
        }
        writeSparse(ghost, msgs, lens);
        setRegSize(images, 5, total);
        Map<String, String> tree = HardeningSupport.tree(root);
        Map<Integer, String> fds = HardeningSupport.jvmFds();
        for (String[] args : new String[][] {{"show", images.toString()},
            {"restore", "--root", root.toString(), "--verify", "--then=kill", images.toString()}}) {
            long t0 = System.nanoTime();
            CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run(args));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(0, r.code, r.toString());
            assertFalse(r.toString().contains("\tat ") || r.toString().contains("OutOfMemoryError"), r.toString());
            System.out.printf("HARDENING payload: %s of a 4 GiB ghost file (%d-byte sparse image): exit %d in %d ms%n",
                    args[0], Files.size(ghost), r.code, ms);
        }
        assertEquals(List.of(), HardeningSupport.leftovers(fds, root, tree));
    }

    /**
     * A 100 MB packet queued on a unix socket: it fits the payload budget, so show lists it; the restore
     * can not queue it (no socket buffer takes 100 MB) and fails with one line, leaving nothing.
     */
    @Test
    void a100MbSocketQueueFailsTheRestoreWithOneLine(@TempDir Path tmp) throws Exception {
        Path images = copyImages("v_unix", tmp.resolve("images"));
        Path root = Samples.prepareRoot("v_unix", tmp.resolve("root"));
        Path queues = images.resolve("sk-queues.img");
        SkPacketEntry first = ImageReader.read(queues).entries().get(0).message(SkPacketEntry.class);
        long n = 100_000_000L;
        writeSparse(queues, List.of(first.toBuilder().setLength((int) n).build()), List.of(n));
        Map<String, String> tree = HardeningSupport.tree(root);
        Map<Integer, String> fds = HardeningSupport.jvmFds();
        CliRunner show = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("show", images.toString()));
        assertEquals(0, show.code, show.toString());
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--root", root.toString(),
                "--verify", "--then=kill", images.toString()));
        System.out.printf("HARDENING payload: restore of a 100 MB unix socket queue: exit %d, %s%n", r.code,
                r.err.strip());
        assertEquals(1, r.code, r.toString());
        assertEquals(1, r.err.strip().lines().count(), "one line: " + r);
        assertFalse(r.toString().contains("\tat ") || r.toString().contains("OutOfMemoryError"), r.toString());
        HardeningSupport.removeNewSockets(root, tree);
        assertEquals(List.of(), HardeningSupport.leftovers(fds, root, tree));
    }
}
