package fdrestore.plugin.regularfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A procfs file of a task of the tree (criu's memfd02 and fanotify00 hold /proc/PID/maps and
 * /proc/PID/fdinfo/4 of themselves): a placeholder in the table, opened by the task's own process.
 */
class ProcFileTest {
    @TempDir
    Path tmp;

    private static PlanContext ctx(ImageSet images) {
        return TestPlanContext.of(images).root(Path.of("/srv/root"));
    }

    @Test
    void aProcfsFileOfATaskIsOpenedByItsProcessAtItsPosition() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(10, 0).task(11, 10);
        long maps = b.regularFile("/proc/10/maps", 0100000, 2048);
        long info = b.regularFile("/proc/11/fdinfo/4", 0100000, 256);
        long other = b.regularFile("/proc/4242/maps", 0, 0);
        b.fd(10, 5, maps).fd(10, 6, maps).fd(10, 7, info).fd(10, 8, other);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        RegularFileKind k = new RegularFileKind();
        List<ProcessAction> actions = k.processActions(images.task(10).orElseThrow(), ctx(images));
        assertEquals(List.of(new ProcessAction.ProcFile(List.of(5, 6), 10, "maps", 0100000, 2048),
                new ProcessAction.ProcFile(List.of(7), 11, "fdinfo/4", 0100000, 256)),
                actions.stream().filter(a -> a instanceof ProcessAction.ProcFile).toList());
        FileInfo fi = new FileInfo(maps, FdType.REG, images.file(maps).orElseThrow(),
                List.of(new FleInfo(10, 5, false), new FleInfo(10, 6, false)));
        assertTrue(k.plan(fi, ctx(images)) instanceof ProcFilePlaceholder);
        FileInfo outside = new FileInfo(other, FdType.REG, images.file(other).orElseThrow(), List.of(new FleInfo(10, 8, false)));
        assertFalse(k.plan(outside, ctx(images)) instanceof ProcFilePlaceholder, "a pid outside the tree is a path under the root");
    }

    @Test
    void aSharedOrWritableProcfsFileIsRefused() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(10, 0).task(11, 10);
        long maps = b.regularFile("/proc/10/maps", 0, 0);
        long rw = b.regularFile("/proc/10/attr/current", 02, 0);
        b.fd(10, 5, maps).fd(11, 5, maps).fd(10, 6, rw);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        PlanException shared = assertThrows(PlanException.class, () -> new RegularFileKind().plan(new FileInfo(maps,
                FdType.REG, images.file(maps).orElseThrow(), List.of(new FleInfo(10, 5, false), new FleInfo(11, 5, false))),
                ctx(images)));
        assertTrue(shared.getMessage().contains("/proc/10/maps") && shared.getMessage().contains("is shared by 2 tasks"),
                shared.getMessage());
        PlanException w = assertThrows(PlanException.class, () -> new RegularFileKind().plan(new FileInfo(rw,
                FdType.REG, images.file(rw).orElseThrow(), List.of(new FleInfo(10, 6, false))), ctx(images)));
        assertTrue(w.getMessage().contains("open for writing"), w.getMessage());
    }

    @Test
    void aProcfsPathThroughAMagicLinkIsRefused() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(10, 0);
        for (String p : List.of("/proc/10/root/etc/shadow", "/proc/10/cwd/x", "/proc/10/fd/3", "/proc/10/task/10/root/x")) {
            long id = b.regularFile(p, 0, 0);
            b.fd(10, 3 + (int) id, id);
        }
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        for (ImageSet.Fd fd : images.task(10).orElseThrow().fds()) {
            PlanException e = assertThrows(PlanException.class, () -> new RegularFileKind().plan(new FileInfo(fd.fileId(),
                    FdType.REG, images.file(fd.fileId()).orElseThrow(), List.of(new FleInfo(10, fd.fd(), false))), ctx(images)));
            assertTrue(e.getMessage().contains("leads out of --root through a magic link"), e.getMessage());
        }
    }
}
