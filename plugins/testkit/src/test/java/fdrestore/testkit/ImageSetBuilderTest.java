package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PagemapHead;
import fdrestore.api.image.proto.PipeDataEntry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Side images of any kind written by the builder read back through the image model, entry for entry. */
class ImageSetBuilderTest {
    @TempDir
    Path tmp;

    private static FileLockEntry lock(int fd) {
        return FileLockEntry.newBuilder().setFlag(1).setType(1).setPid(1).setFd(fd).setStart(0).setLen(0).build();
    }

    @Test
    void entriesOfASingleImageKeepTheirOrderAndPayloadsBesideTheBuildersOwn() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder().task(1, 0);
        long[] p = b.pipe(ImageSetBuilder.bytes("first"));
        b.fd(1, 3, p[0]).fd(1, 4, p[1]);
        b.entry(Magic.PIPES_DATA, PipeDataEntry.newBuilder().setPipeId(7).setBytes(3).build(), new byte[] {1, 2, 3});
        b.entry(Magic.FILE_LOCKS, lock(3)).entry(Magic.FILE_LOCKS, lock(4));
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));

        List<ImageEntry> data = images.image(Magic.PIPES_DATA).entries();
        assertEquals(2, data.size(), "the pipe's data, then the entry added");
        assertArrayEquals(ImageSetBuilder.bytes("first"), data.get(0).payload());
        assertEquals(7, data.get(1).message(PipeDataEntry.class).getPipeId());
        assertArrayEquals(new byte[] {1, 2, 3}, data.get(1).payload());
        assertEquals(List.of(lock(3), lock(4)), images.entries(Magic.FILE_LOCKS, FileLockEntry.class));
    }

    @Test
    void perObjectImagesAreNamedByTheirObject() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder().task(1, 0);
        b.entry(Magic.SHMEM_PAGEMAP, 70, PagemapHead.newBuilder().setPagesId(5).build(), null);
        b.entry(Magic.SHMEM_PAGEMAP, 70, PagemapEntry.newBuilder().setVaddr(0).setCompatNrPages(0).setNrPages(1).setFlags(4).build(), null);
        Path dir = b.write(tmp.resolve("images"));
        assertTrue(dir.resolve("pagemap-shmem-70.img").toFile().isFile());
        ImageFile f = ImageSet.open(dir).image(Magic.SHMEM_PAGEMAP, 70).orElseThrow();
        assertEquals(5, f.entries().get(0).message(PagemapHead.class).getPagesId());
        assertEquals(1, f.entries().get(1).message(PagemapEntry.class).getNrPages());
    }

    @Test
    void misuseIsRefusedNamingTheImage() {
        ImageSetBuilder b = new ImageSetBuilder().task(1, 0);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> b.entry(Magic.FILES, FileEntry.newBuilder().setId(1).setType(1).build())).getMessage()
                .contains("files.img is written by the builder itself"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.entry(Magic.TCP_STREAM, lock(1)))
                .getMessage().contains("per object"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.entry(Magic.FILE_LOCKS, 3, lock(1), null))
                .getMessage().contains("single image"));
        b.entry(Magic.FILE_LOCKS, lock(3), new byte[] {1});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.write(tmp.resolve("bad"))).getMessage()
                .contains("carries a payload"));
    }
}
