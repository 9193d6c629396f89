package fdrestore.api.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.PstreeEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageSetTest {
    static Path sample(String name) {
        return Paths.get(System.getProperty("fdrestore.samples", "../images-samples")).resolve("criu-4.2").resolve(name);
    }

    /** A writable copy of a sample's images (not its json/ or root/). */
    static Path copy(String name, Path to) throws IOException {
        try (Stream<Path> s = Files.list(sample(name))) {
            for (Path p : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".img"))::iterator) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    static void rewrite(Path img, Magic magic, UnaryOperator<List<ImageEntry>> edit) throws IOException {
        ImageFile f = ImageReader.read(img, magic);
        List<ImageEntry> entries = edit.apply(new ArrayList<>(f.entries()));
        ImageWriter.write(new ImageFile(magic, entries), img);
    }

    @Test
    void readsTasksFdsAndSharing() throws Exception {
        ImageSet s = ImageSet.open(sample("a_pipe"));
        assertEquals(List.of(30508, 30512, 30514, 30513), s.tasks().stream().map(ImageSet.Task::pid).toList());
        ImageSet.Task child2 = s.task(30513).orElseThrow();
        assertEquals(List.of(0, 1, 2, 5, 6, 100, 101), child2.fds().stream().map(ImageSet.Fd::fd).toList());
        ImageSet.Fd fd100 = child2.fds().get(5);
        assertEquals(FdType.PIPE, fd100.type());
        assertTrue(fd100.cloexec());
        assertEquals(5, fd100.fileId());
        assertEquals(4, s.sharers(5).size());
        assertEquals("a_pipe", child2.comm());
        assertTrue(s.root().sessionLeader());
    }

    @Test
    void everySampleOpens() throws Exception {
        try (Stream<Path> dirs = Files.list(sample("a_pipe").getParent())) {
            // the scenario sets (zdtm/ and real/ hold corpora of their own, restored by CriuCorpusTest)
            for (Path d : (Iterable<Path>) dirs.filter(p -> Files.exists(p.resolve("inventory.img")))::iterator) {
                ImageSet s = ImageSet.open(d);
                assertTrue(s.tasks().size() >= 2, d.toString());
                for (ImageSet.Task t : s.tasks()) {
                    for (ImageSet.Fd fd : t.fds()) {
                        assertTrue(s.file(fd.fileId()).isPresent(), d + " " + t + " fd " + fd.fd());
                    }
                }
            }
        }
    }

    @Test
    void notAnImageSet(@TempDir Path tmp) throws Exception {
        ImageSetException e = assertThrows(ImageSetException.class, () -> ImageSet.open(tmp));
        assertTrue(e.getMessage().contains("not an image set"), e.getMessage());
        Files.writeString(tmp.resolve("file"), "x");
        e = assertThrows(ImageSetException.class, () -> ImageSet.open(tmp.resolve("file")));
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
    }

    @Test
    void everyProblemIsReportedTogether(@TempDir Path tmp) throws Exception {
        copy("a_pipe", tmp);
        // fdinfo-2.img is the root's table: add a duplicate fd 3, a dangling file id, an unknown type and
        // an fd number of 2^31.
        rewrite(tmp.resolve("fdinfo-2.img"), Magic.FDINFO, es -> {
            es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(5).setFlags(0).setType(2).setFd(3).build()));
            es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(999).setFlags(0).setType(1).setFd(40).build()));
            es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(4).setFlags(0).setType(77).setFd(41).build()));
            es.add(ImageEntry.of(FdinfoEntry.newBuilder().setId(4).setFlags(0).setType(1).setFd(0x80000000).build()));
            return es;
        });
        ImageSetException e = assertThrows(ImageSetException.class, () -> ImageSet.open(tmp));
        String m = e.getMessage();
        assertEquals(5, e.problems().size(), m);
        assertTrue(m.contains("fdinfo-2.img entry 7 (task 30508 fd 3): duplicate fd 3 (also entry 3)"), m);
        assertTrue(m.contains("fdinfo-2.img entry 8 (task 30508 fd 40): refers to file id 999, which no file image holds"), m);
        assertTrue(m.contains("fdinfo-2.img entry 9 (task 30508 fd 41): unknown fd type 77"), m);
        assertTrue(m.contains("fd type 77 but file 4 has type 1"), m);
        assertTrue(m.contains("entry 10 (task 30508 fd 2147483648): fd number 2147483648 is out of range"), m);
    }

    @Test
    void pstreeCycleAndMissingParent(@TempDir Path tmp) throws Exception {
        copy("a_pipe", tmp);
        rewrite(tmp.resolve("pstree.img"), Magic.PSTREE, es -> {
            // 30512 and 30514 become each other's parents; 30513's parent disappears.
            PstreeEntry a = es.get(1).message(PstreeEntry.class).toBuilder().setPpid(30514).build();
            PstreeEntry c = es.get(3).message(PstreeEntry.class).toBuilder().setPpid(4242).build();
            es.set(1, ImageEntry.of(a));
            es.set(3, ImageEntry.of(c));
            return es;
        });
        ImageSetException e = assertThrows(ImageSetException.class, () -> ImageSet.open(tmp));
        String m = e.getMessage();
        assertTrue(m.contains("parent cycle"), m);
        assertTrue(m.contains("task 30513 has parent 4242, which is not in the tree"), m);
    }

    @Test
    void missingFdinfoImageIsAnEmptyTable(@TempDir Path tmp) throws Exception {
        // criu writes no fdinfo image for a task that closed every fd (zdtm "fd")
        copy("a_pipe", tmp);
        Files.delete(tmp.resolve("fdinfo-4.img"));
        ImageSet set = ImageSet.open(tmp);
        ImageSet.Task t = set.tasks().stream().filter(x -> x.filesId() == 4).findFirst().orElseThrow();
        assertTrue(t.fds().isEmpty(), "task " + t.pid() + " has an empty table: " + t.fds());
        assertTrue(set.sharers().values().stream().flatMap(List::stream).noneMatch(r -> r.pid() == t.pid()));
    }
}
