package fdrestore.plugin.inotify;

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
import fdrestore.plugin.inotify.proto.FhEntry;
import fdrestore.plugin.inotify.proto.InotifyFileEntry;
import fdrestore.plugin.inotify.proto.InotifyWdEntry;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inotify plugin through the testkit: real watches made in the JVM on files under the scenario's
 * root (their wds kept), adopted into fake tables; the plan's refusals of hostile fields.
 */
class InotifyContractTest extends FileKindContractTest {
    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new InotifyKind();
    }

    static InotifyWdEntry watch(int wd, int mask, String path) {
        FhEntry.Builder fh = FhEntry.newBuilder().setBytes(8).setType(1).addHandle(0x1234);
        if (path != null) {
            fh.setPath(path);
        }
        return InotifyWdEntry.newBuilder().setId(0).setIIno(99).setMask(mask).setIgnoredMask(0).setSDev(0xfe00000)
                .setWd(wd).setFHandle(fh).build();
    }

    static long inotify(ImageSetBuilder b, int flags, InotifyWdEntry... watches) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.INOTIFY.code()).setId(id)
                .setIfy(ByteString.copyFrom(InotifyFileEntry.newBuilder().setId(id).setFlags(flags)
                        .setFown(ImageSetBuilder.noOwner().toByteString()).addAllWd(List.of(watches)).build()
                        .toByteArray()))
                .build());
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long a = inotify(v, 04000, watch(3, 0xfff, "/w/file"), watch(1, 0x100, "/w"));
        long none = inotify(v, 0);
        v.fd(1, 4, a).fd(2, 4, a).fd(1, 5, none);
        ImageSetBuilder d = new ImageSetBuilder();
        d.task(1, 0);
        long gone = inotify(d, 0, watch(1, 0xfff, "/w/file"), watch(2, 0xfff, null), watch(4, 0x2, "/w/gone"));
        d.fd(1, 4, gone);
        return List.of(Scenario.of("watches with their wds, shared by two tasks", v)
                        .root(r -> {
                            Files.createDirectories(r.resolve("w"));
                            Files.writeString(r.resolve("w/file"), "x");
                        })
                        .expect(x -> {
                            assertEquals("anon_inode:inotify", x.file(1, 4).what());
                            assertEquals(04000, x.file(1, 4).flags() & 04000, "IN_NONBLOCK reaches the task");
                            assertEquals(List.of("anon_inode:inotify", "anon_inode:inotify"), x.table(1).adopted());
                        }),
                Scenario.of("watches whose inode is gone, dropped by option", d)
                        .option(InotifyKind.DROP_MISSING, "true")
                        .root(r -> {
                            Files.createDirectories(r.resolve("w"));
                            Files.writeString(r.resolve("w/file"), "x");
                        })
                        .expect(x -> assertEquals(List.of("anon_inode:inotify"), x.table(1).adopted())));
    }

    private PlanException refused(InotifyWdEntry... watches) throws Exception {
        return refused(0, watches);
    }

    private PlanException refused(int flags, InotifyWdEntry... watches) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = inotify(b, flags, watches);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.INOTIFY, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        PlanContext ctx = TestPlanContext.of(images).root(tmp);
        return assertThrows(PlanException.class, () -> new InotifyKind().plan(info, ctx));
    }

    @Test
    void hostileFieldsAreRefusedBeforeAnySyscall() throws Exception {
        assertTrue(refused(04001).getMessage().contains("field flags 0x801"), refused(04001).getMessage());
        assertTrue(refused(watch(0, 0xfff, "/a")).getMessage().contains("watch wd 0: field wd is outside 1..65536"));
        assertTrue(refused(watch(70000, 0xfff, "/a")).getMessage().contains("field wd is outside"));
        assertTrue(refused(watch(2, 0xfff, "/a"), watch(2, 1, "/b")).getMessage().contains("field wd is given twice"));
        assertTrue(refused(watch(1, 0, "/a")).getMessage().contains("field mask 0x0 is not an inotify mask"));
        assertTrue(refused(watch(1, 0x00800001, "/a")).getMessage().contains("field mask 0x800001"));
        PlanException up = refused(watch(1, 1, "/a/../../etc"));
        assertTrue(up.getMessage().contains("inotify file") && up.getMessage().contains("field f_handle.path /a/../../etc"),
                up.getMessage());
        InotifyWdEntry[] many = new InotifyWdEntry[InotifyKind.MAX_WATCHES + 1];
        for (int i = 0; i < many.length; i++) {
            many[i] = watch(i + 1, 1, "/a");
        }
        assertTrue(refused(many).getMessage().contains("field wd has 8193 watches, more than 8192"));
        InotifyWdEntry big = InotifyWdEntry.newBuilder(watch(1, 1, "/a"))
                .setFHandle(FhEntry.newBuilder().setBytes(200).setType(1).addHandle(1)).build();
        assertTrue(refused(big).getMessage().contains("field f_handle.bytes 200"));
    }
}
