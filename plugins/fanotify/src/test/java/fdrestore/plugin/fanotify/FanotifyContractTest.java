package fdrestore.plugin.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.fanotify.proto.FanotifyFileEntry;
import fdrestore.plugin.fanotify.proto.FanotifyInodeMarkEntry;
import fdrestore.plugin.fanotify.proto.FanotifyMarkEntry;
import fdrestore.plugin.fanotify.proto.FanotifyMountMarkEntry;
import fdrestore.plugin.fanotify.proto.FhEntry;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fanotify plugin through the testkit: real groups and marks made in the JVM on files under the
 * scenario's root, adopted into fake tables (each fault leaves nothing behind); the plan's refusals of
 * hostile fields, before any syscall.
 */
class FanotifyContractTest extends FileKindContractTest {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;
    static final int O_LARGEFILE = 0100000;

    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new FanotifyKind();
    }

    static FanotifyMarkEntry inode(int mflags, int mask, int ignored, String path) {
        FhEntry.Builder fh = FhEntry.newBuilder().setBytes(8).setType(1).addHandle(0x1234);
        if (path != null) {
            fh.setPath(path);
        }
        return FanotifyMarkEntry.newBuilder().setId(0).setType(FanotifyKind.INODE).setMflags(mflags).setMask(mask)
                .setIgnoredMask(ignored).setSDev(0xfe00000)
                .setIe(FanotifyInodeMarkEntry.newBuilder().setIIno(99).setFHandle(fh)).build();
    }

    static FanotifyMarkEntry mount(int mflags, int mask, int ignored, String path) {
        return FanotifyMarkEntry.newBuilder().setId(0).setType(FanotifyKind.MOUNT).setMflags(mflags).setMask(mask)
                .setIgnoredMask(ignored).setSDev(0xfe00000)
                .setMe(FanotifyMountMarkEntry.newBuilder().setMntId(26).setPath(path)).build();
    }

    static long fanotify(ImageSetBuilder b, int flags, int faflags, int evflags, FanotifyMarkEntry... marks) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.FANOTIFY.code()).setId(id)
                .setFfy(ByteString.copyFrom(FanotifyFileEntry.newBuilder().setId(id).setFlags(flags)
                        .setFown(ImageSetBuilder.noOwner().toByteString()).setFaflags(faflags).setEvflags(evflags)
                        .addAllMark(List.of(marks)).build().toByteArray()))
                .build());
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        // fanotify00's group: FAN_NONBLOCK | FAN_UNLIMITED_QUEUE, a mount mark and an inode mark
        long a = fanotify(v, O_RDWR | O_NONBLOCK, 0x12, O_LARGEFILE, mount(0x40, 0x40000038, 0x3, "/"),
                inode(0, 0x3b, 0, "/w/file"));
        long none = fanotify(v, O_RDWR, 0, 0);
        v.fd(1, 4, a).fd(2, 4, a).fd(1, 5, none);
        return List.of(Scenario.of("a group with a mount and an inode mark, shared by two tasks", v)
                .root(r -> {
                    Files.createDirectories(r.resolve("w"));
                    Files.writeString(r.resolve("w/file"), "x");
                })
                .expect(x -> {
                    assertEquals("anon_inode:[fanotify]", x.file(1, 4).what());
                    assertEquals(O_NONBLOCK, x.file(1, 4).flags() & O_NONBLOCK, "FAN_NONBLOCK reaches the task");
                    assertEquals(0, x.file(1, 5).flags() & O_NONBLOCK);
                    assertEquals(List.of("anon_inode:[fanotify]", "anon_inode:[fanotify]"), x.table(1).adopted());
                    assertEquals(List.of(), x.table(2).adopted(), "the shared group is made once");
                }));
    }

    private static PlanContext ctx(ImageSet images) {
        return TestPlanContext.of(images);
    }

    private PlanException refused(ToLongFunction<ImageSetBuilder> make) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = make.applyAsLong(b);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.FANOTIFY, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        return assertThrows(PlanException.class, () -> new FanotifyKind().plan(info, ctx(images)));
    }

    private void assertRefused(String part, ToLongFunction<ImageSetBuilder> make) throws Exception {
        PlanException e = refused(make);
        assertTrue(e.getMessage().startsWith("fanotify file ") && e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void groupFlagsNoFanotifyHasAreRefused() throws Exception {
        assertRefused("field flags 02002 is not a fanotify group's", b -> fanotify(b, O_RDWR | 02000, 0, 0));
        assertRefused("field flags 00 ", b -> fanotify(b, 0, 0, 0));
        assertRefused("field faflags 0x8000 has bits fanotify_init does not take", b -> fanotify(b, O_RDWR, 0x8000, 0));
        assertRefused("field evflags 01000", b -> fanotify(b, O_RDWR, 0, 01000 /* O_TRUNC */));
    }

    @Test
    void tooManyMarksAreRefusedBeforeAnySyscall() throws Exception {
        List<FanotifyMarkEntry> many = new ArrayList<>();
        for (int i = 0; i <= FanotifyKind.MAX_MARKS; i++) {
            many.add(inode(0, 1, 0, "/f"));
        }
        assertRefused("field mark has 8193 marks, more than 8192",
                b -> fanotify(b, O_RDWR, 0, 0, many.toArray(new FanotifyMarkEntry[0])));
    }

    @Test
    void hostileMarksAreRefusedNamingTheField() throws Exception {
        assertRefused("mark 1: field mflags 0x11 has bits a mark does not keep",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 1, 0, "/f"), inode(0x11 /* REMOVE|MOUNT */, 1, 0, "/f")));
        assertRefused("mark 0: field mask 0x80000000 has bits that are not fanotify events",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 0x80000000, 0, "/f")));
        assertRefused("mark 0: field ignored_mask 0x20000000",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 1, 0x20000000, "/f")));
        assertRefused("mark 0: fields mask and ignored_mask are both empty",
                b -> fanotify(b, O_RDWR, 0, 0, mount(0, 0, 0, "/")));
        assertRefused("mark 0: path /a/../etc is not an absolute path without ..",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 1, 0, "/a/../etc")));
        assertRefused("mark 0: path rel is not an absolute path",
                b -> fanotify(b, O_RDWR, 0, 0, mount(0, 1, 0, "rel")));
        assertRefused("mark 0: field type 3 is neither INODE (1) nor MOUNT (2)",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 1, 0, "/f").toBuilder().setType(3).build()));
        assertRefused("mark 0: a mount mark without the path of its mount",
                b -> fanotify(b, O_RDWR, 0, 0, mount(0, 1, 0, "/").toBuilder().clearMe().build()));
        assertRefused("mark 0: field f_handle.bytes 200 is more than its handle holds",
                b -> fanotify(b, O_RDWR, 0, 0, inode(0, 1, 0, null).toBuilder().setIe(FanotifyInodeMarkEntry.newBuilder()
                        .setIIno(1).setFHandle(FhEntry.newBuilder().setBytes(200).setType(1))).build()));
    }

    @Test
    void aMissingOrGarbledEntryIsRefused() throws Exception {
        assertRefused("no fanotify entry (ffy)", b -> b.file(id -> FileEntry.newBuilder()
                .setType(FdType.FANOTIFY.code()).setId(id).build()));
        assertRefused("field ffy is not a fanotify entry", b -> b.file(id -> FileEntry.newBuilder()
                .setType(FdType.FANOTIFY.code()).setId(id).setFfy(ByteString.copyFrom(new byte[] {(byte) 0xff})).build()));
    }
}
