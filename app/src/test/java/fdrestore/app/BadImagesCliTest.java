package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kind of bad input, through the command line (show and restore): exit code 2, one line that
 * names the image, the entry and the offset or the task and fd, and no stack trace without --verbose.
 */
class BadImagesCliTest {
    private static Path copy(Path to) throws IOException {
        try (Stream<Path> s = Files.list(Samples.criu("a_pipe"))) {
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

    /** Breaks the copy in one way; returns what the one-line error must mention. */
    private static String breakIt(String how, Path dir) throws IOException {
        Path files = dir.resolve("files.img");
        byte[] b = Files.readAllBytes(files);
        switch (how) {
            case "truncated" -> {
                Files.write(files, java.util.Arrays.copyOf(b, b.length - 5));
                return "files.img";
            }
            case "wrong-magic" -> {
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0x12345678);
                Files.write(files, b);
                return "magic";
            }
            case "size-past-eof" -> {
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 0x7fff0000);
                Files.write(files, b);
                return "entry 0 at byte 8";
            }
            case "size-4gib" -> {
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 0xffffffff);
                Files.write(files, b);
                return "64 MiB";
            }
            case "invalid-protobuf" -> {
                for (int i = 12; i < 20; i++) {
                    b[i] = (byte) 0xff;
                }
                Files.write(files, b);
                return "entry 0";
            }
            case "dangling-id" -> {
                rewrite(dir.resolve("fdinfo-2.img"), Magic.FDINFO, es -> {
                    es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(777).setFlags(0).setType(1).setFd(9).build()));
                    return es;
                });
                return "task 30508 fd 9): refers to file id 777";
            }
            case "duplicate-fd" -> {
                rewrite(dir.resolve("fdinfo-2.img"), Magic.FDINFO, es -> {
                    es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(4).setFlags(0).setType(1).setFd(1).build()));
                    return es;
                });
                return "duplicate fd 1";
            }
            case "pstree-cycle" -> {
                rewrite(dir.resolve("pstree.img"), Magic.PSTREE, es -> {
                    es.set(1, ImageEntry.of(es.get(1).message(PstreeEntry.class).toBuilder().setPpid(30514).build()));
                    return es;
                });
                return "parent cycle";
            }
            case "fd-2^31" -> {
                rewrite(dir.resolve("fdinfo-2.img"), Magic.FDINFO, es -> {
                    es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(4).setFlags(0).setType(1).setFd(0x80000000).build()));
                    return es;
                });
                return "fd number 2147483648 is out of range";
            }
            case "not-an-image-set" -> {
                Files.delete(dir.resolve("pstree.img"));
                return "not an image set";
            }
            default -> throw new IllegalArgumentException(how);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"truncated", "wrong-magic", "size-past-eof", "size-4gib", "invalid-protobuf", "dangling-id",
        "duplicate-fd", "pstree-cycle", "fd-2^31", "not-an-image-set"})
    void exitTwoWithOneClearLine(String how, @TempDir Path tmp) throws Exception {
        String must = breakIt(how, copy(tmp));
        for (String cmd : new String[] {"show", "restore"}) {
            CliRunner r = cmd.equals("show") ? CliRunner.run("show", tmp.toString())
                    : CliRunner.run("restore", "--then=kill", tmp.toString());
            assertEquals(2, r.code, cmd + " " + how + ": " + r);
            assertTrue(r.err.startsWith("fdrestore: "), r.err);
            assertTrue(r.err.contains(must), cmd + " " + how + " must mention '" + must + "': " + r.err);
            assertFalse(r.err.contains("\tat "), "no stack trace: " + r.err);
            assertEquals("", r.out, "nothing restored, nothing printed on stdout");
        }
        CliRunner v = CliRunner.run("show", "--verbose", tmp.toString());
        assertTrue(v.err.contains("\tat "), "--verbose adds the trace: " + v.err);
    }
}
