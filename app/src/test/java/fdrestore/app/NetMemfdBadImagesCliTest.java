package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Sys;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile netlink, packet and memfd fields in criu's own zdtm images, through {@code fdrestore restore}: a
 * non-zero exit, one line naming the task, the fd and the field, no stack trace, and nothing left in this
 * JVM (the command runs in it).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NetMemfdBadImagesCliTest {
    @TempDir
    Path tmp;

    private Path copy(String entry) throws IOException {
        Path to = Files.createDirectories(tmp.resolve(entry));
        try (Stream<Path> s = Files.list(Samples.criu("zdtm/" + entry))) {
            for (Path p : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".img"))::iterator) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    private static void rewrite(Path img, Magic magic, UnaryOperator<List<ImageEntry>> edit) throws IOException {
        ImageFile f = ImageReader.read(img, magic);
        ImageWriter.write(new ImageFile(magic, edit.apply(new ArrayList<>(f.entries()))), img);
    }

    /** Rewrites every files.img entry with {@code edit}. */
    private static void files(Path dir, UnaryOperator<FileEntry> edit) throws IOException {
        rewrite(dir.resolve("files.img"), Magic.FILES, es -> es.stream()
                .map(e -> ImageEntry.of(edit.apply((FileEntry) e.message()))).toList());
    }

    private void refused(Path dir, String... must) throws Exception {
        Map<Integer, String> before = Sys.fdTargets();
        // the zdtm cwd is not under / here: start the task in the root, so that the one error is the field's
        CliRunner r = CliRunner.run("restore", "--cwd-fallback", "--then=kill", dir.toString());
        assertTrue(r.code == 1 || r.code == 2, r.toString());
        assertTrue(r.err.startsWith("fdrestore: ") && r.err.strip().lines().count() == 1, r.err);
        for (String m : must) {
            assertTrue(r.err.contains(m), "must mention '" + m + "': " + r.err);
        }
        assertFalse(r.err.contains("\tat "), "no stack trace: " + r.err);
        assertEquals(Map.of(), FdLeaks.gainedSince(before), "nothing left in the JVM's table");
    }

    @Test
    void aNetlinkProtocolNoKernelHas() throws Exception {
        Path d = copy("sk-netlink");
        files(d, f -> f.hasNlsk() && f.getNlsk().getIno() == 3160199
                ? f.toBuilder().setNlsk(f.getNlsk().toBuilder().setProtocol(40)).build() : f);
        refused(d, "task 14978 fd 5", "protocol 40");
    }

    @Test
    void aPacketSocketOnAMissingInterface() throws Exception {
        Path d = copy("packet_sock");
        files(d, f -> f.hasPsk() && f.getPsk().getType() == 2
                ? f.toBuilder().setPsk(f.getPsk().toBuilder().setIfindex(70000)).build() : f);
        refused(d, "task 16016 fd 5", "ifindex 70000 names no network interface");
    }

    @Test
    void aMemfdTooLargeAndOnePastItsPages() throws Exception {
        Path d = copy("memfd00");
        rewrite(d.resolve("memfd.img"), Magic.MEMFD_INODE, es -> es.stream().map(e -> {
            MemfdInodeEntry i = (MemfdInodeEntry) e.message();
            return ImageEntry.of(i.getName().equals("somename") ? i.toBuilder().setSize(1L << 40).build() : i);
        }).toList());
        refused(d, "task 9428 fd 4", "size 1099511627776 bytes is above");

        Path e = copy("memfd04");
        Files.write(e.resolve("pages-2.img"), new byte[100]);
        refused(e, "task 13292 fd 4", "pages-2.img has 100");
    }
}
