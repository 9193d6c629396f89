package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 item 6 with the packaged distribution: a 256 MiB ghost file restored by a JVM of 64 MiB of heap.
 * The content comes from the image in chunks (before, the image was refused: its payloads were more than a
 * quarter of the heap). The restored fd's content is checked by its SHA-256, and the peak RSS printed.
 */
class StreamedPayloadIT {
    private static final long SIZE = 256L << 20;
    private static final long CHUNK = 16L << 20;
    private static final int DATA = 1 << 20; // written at the start of each chunk; the rest is a hole

    @Test
    @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void a256MibGhostIsRestoredByA64MibHeap(@TempDir Path tmp) throws Exception {
        Path images = HardeningPayloadTest.copyImages("v_ghost", tmp.resolve("images"));
        Path root = Samples.prepareRoot("v_ghost", tmp.resolve("root"));
        Path ghost = images.resolve("ghost-file-1.img");
        GhostFileEntry head = ImageReader.read(ghost).entries().get(0).message(GhostFileEntry.class);
        String want = writeGhost(ghost, head.toBuilder().setChunks(true).setSize(SIZE).build());
        HardeningPayloadTest.setRegSize(images, 5, SIZE);

        ProcessBuilder pb = new ProcessBuilder("/usr/bin/time", "-f", "MAXRSS_KB %M",
                HardeningDistributionIT.bin().toString(), "restore", "--root", root.toString(), "--detach", "--json",
                images.toString());
        pb.environment().put("FDRESTORE_JAVA_OPTS", "-Xmx64m");
        pb.environment().put("FDRESTORE_SERVER", "off");
        long t0 = System.nanoTime();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(240, TimeUnit.SECONDS));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        List<Integer> pids = new ArrayList<>();
        Object[] cgroup = {null};
        try {
            Object doc = Json.parse(out);
            cgroup[0] = ((Map<?, ?>) doc).get("cgroup");
            int rootPid = -1;
            for (Object t : (List<?>) ((Map<?, ?>) doc).get("tasks")) {
                Map<?, ?> m = (Map<?, ?>) t;
                int pid = ((Number) m.get("pid")).intValue();
                pids.add(pid);
                if (((Number) m.get("imagePid")).intValue() == 4895) {
                    rootPid = pid;
                }
            }
            assertEquals(0, p.exitValue(), out + err);
            assertFalse(err.contains("OutOfMemoryError"), err);
            Path fd = Path.of("/proc/" + rootPid + "/fd/3");
            assertTrue(Files.readSymbolicLink(fd).toString().endsWith("v_ghost.data (deleted)"), fd.toString());
            assertEquals(SIZE, Files.size(fd));
            assertEquals(want, sha256(fd), "the restored content");
            Matcher rss = Pattern.compile("MAXRSS_KB (\\d+)").matcher(err);
            assertTrue(rss.find(), err);
            System.out.printf("HARDENING payload: a 256 MiB ghost (%d-byte image, 16 MiB of data) restored with"
                    + " -Xmx64m in %d ms, peak RSS %d KB, SHA-256 equal%n", Files.size(ghost), ms,
                    Long.parseLong(rss.group(1)));
        } finally {
            for (int pid : pids) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            for (int pid : pids) {
                ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
            }
            if (cgroup[0] != null) {
                Files.deleteIfExists(Path.of(cgroup[0].toString())); // empty now: rmdir
            }
        }
    }

    /** Writes the ghost image: the head, then 16 MiB chunks of 1 MiB of data and a hole; returns the content's hash. */
    private static String writeGhost(Path image, GhostFileEntry head) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] header = new byte[8];
        try (FileChannel in = FileChannel.open(image, StandardOpenOption.READ)) {
            in.read(ByteBuffer.wrap(header), 0);
        }
        Random rnd = new Random(23);
        byte[] data = new byte[DATA];
        byte[] zeros = new byte[(int) (CHUNK - DATA)];
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = ch.write(ByteBuffer.wrap(header), 0);
            pos += ch.write(framed(head), pos);
            for (long off = 0; off < SIZE; off += CHUNK) {
                pos += ch.write(framed(GhostChunkEntry.newBuilder().setOff(off).setLen(CHUNK).build()), pos);
                rnd.nextBytes(data);
                ch.write(ByteBuffer.wrap(data), pos);
                md.update(data);
                md.update(zeros);
                pos += CHUNK;
            }
            if (ch.size() < pos) {
                ch.write(ByteBuffer.wrap(new byte[1]), pos - 1);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static ByteBuffer framed(Message m) {
        byte[] b = m.toByteArray();
        return ByteBuffer.allocate(4 + b.length).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).put(b).flip();
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
