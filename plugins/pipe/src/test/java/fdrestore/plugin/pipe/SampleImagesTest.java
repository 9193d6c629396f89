package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.api.sys.Linux.S_IFIFO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.TaskTable;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.Samples;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The kinds plan real CRIU 4.2 image sets; the engine restores them on the fake kernel. */
class SampleImagesTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int FLOOR = 4096;

    private final FakeKernel kernel = new FakeKernel();

    private Engine.Builder engineFor(ImageSet images) {
        Engine.Builder b = Engine.builder(kernel.transport());
        for (ImageSet.Task t : images.tasks()) {
            b.table(kernel.table(t.pid(), FLOOR));
        }
        return b;
    }

    private long calls(ImageSet images, String prefix) {
        return images.tasks().stream().mapToLong(t -> kernel.table(t.pid()).calls().stream()
                .filter(c -> c.startsWith(prefix)).count()).sum();
    }

    /** Every fd slot of every file refers to one description, and no temporary is left. */
    private void assertRestored(ImageSet images, List<FileInfo> files) {
        for (FileInfo f : files) {
            FakeFile first = kernel.table(f.fles().get(0).pid()).file(f.fles().get(0).fd());
            for (FleInfo s : f.fles()) {
                assertSame(first, kernel.table(s.pid()).file(s.fd()), f + " at " + s);
            }
        }
        for (ImageSet.Task t : images.tasks()) {
            assertEquals(List.of(), kernel.table(t.pid()).temporaries(), "temporaries left in " + t);
        }
    }

    @Test
    void aPipeTwoPipesOverFourTasks() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("a_pipe"));
        PlanContext pc = Fixtures.planContext(images, Paths.get("/"));
        PipeKind kind = new PipeKind();
        List<FileInfo> files = Fixtures.filesOfType(images, FdType.PIPE);
        assertEquals(4, files.size());
        Engine.Builder b = engineFor(images);
        int creators = 0;
        for (FileInfo f : files) {
            var r = kind.plan(f, pc);
            creators += r instanceof PipeCreator ? 1 : 0;
            b.file(f, kind.name(), r);
        }
        assertEquals(2, creators, "one creator per pipe id");
        Engine e = b.build();
        assertTimeoutPreemptively(LIMIT, e::run);
        assertRestored(images, files);

        assertEquals(2, calls(images, "pipe2("));
        assertEquals(2, kernel.table(30508).calls().stream().filter(c -> c.startsWith("pipe2(")).count(),
                "the root (lowest pid) creates both pipes");
        assertEquals(2, calls(images, "write("), "each pipe's data once");
        FakeFile pw = kernel.table(30508).file(4);
        assertEquals("pipe w", pw.what());
        assertTrue(pw.log().stream().anyMatch(c -> c.endsWith(", " + F_SETPIPE_SZ + ", 131072)")), pw.log().toString());
        assertTrue(pw.log().stream().anyMatch(c -> c.contains("1000 bytes")), pw.log().toString());
        assertTrue(kernel.table(30508).file(6).log().stream().anyMatch(c -> c.contains("64 bytes")));
        assertEquals("pipe r", kernel.table(30513).file(100).what());
        assertEquals("pipe w", kernel.table(30513).file(101).what());
        assertTrue(kernel.table(30513).cloexec(100));
    }

    @Test
    void bFifoThreeDescriptionsOfOneFifoDataOnce() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("b_fifo"));
        PlanContext pc = Fixtures.planContext(images, Paths.get("/"));
        FifoKind kind = new FifoKind();
        List<FileInfo> files = Fixtures.filesOfType(images, FdType.FIFO);
        assertEquals(3, files.size());
        Engine.Builder b = engineFor(images);
        for (ImageSet.Task t : images.tasks()) {
            kernel.table(t.pid()).stat("/tmp/criu-work/run/b.fifo", new TaskTable.Stat(S_IFIFO | 0600, 0, 1, 9, 0));
        }
        int owners = 0;
        for (FileInfo f : files) {
            FifoRestorer r = assertInstanceOf(FifoRestorer.class, kind.plan(f, pc));
            if (r.restoresData()) {
                owners++;
                assertEquals(5, f.id(), "the description whose master comes first restores the data");
            }
            b.file(f, kind.name(), r);
        }
        assertEquals(1, owners);
        Engine e = b.build();
        assertTimeoutPreemptively(LIMIT, e::run);
        assertRestored(images, files);
        assertEquals(1, calls(images, "write("));
        assertTrue(kernel.table(4530).calls().stream().anyMatch(c -> c.startsWith("write(") && c.contains("500 bytes")));
    }

    @Test
    void big32x64ThirtyOnePipesCreatedByTheRootAndHandedToThirtyOneTasks() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("big_32x64_shared_flat"));
        PlanContext pc = Fixtures.planContext(images, Paths.get("/"));
        PipeKind kind = new PipeKind();
        List<FileInfo> files = Fixtures.filesOfType(images, FdType.PIPE);
        assertEquals(62, files.size());
        Engine.Builder b = engineFor(images);
        for (FileInfo f : files) {
            b.file(f, kind.name(), kind.plan(f, pc));
        }
        Engine e = b.build();
        assertTimeoutPreemptively(LIMIT, e::run);
        assertRestored(images, files);
        int root = images.root().pid();
        assertEquals(31, calls(images, "pipe2("));
        assertEquals(31, kernel.table(root).calls().stream().filter(c -> c.startsWith("pipe2(")).count());
        assertEquals(31, calls(images, "write("));
        assertEquals(0, calls(images, "dup("), "every end is used as is");
        for (int fd = 3; fd <= 64; fd++) {
            assertEquals(fd % 2 == 1 ? "pipe r" : "pipe w", kernel.table(root).file(fd).what(), "fd " + fd);
        }
    }

    @Test
    void aFileWithoutItsEntryIsRefusedWhilePlanning() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("a_pipe"));
        PlanContext pc = Fixtures.planContext(images, Paths.get("/"));
        FileInfo reg = new FileInfo(4, FdType.PIPE, images.file(4).orElseThrow(), List.of(new FleInfo(30508, 0, false)));
        PlanException ex = assertThrows(PlanException.class, () -> new PipeKind().plan(reg, pc));
        assertTrue(ex.getMessage().contains("file 4") && ex.getMessage().contains("no pipe entry"), ex.getMessage());
        PlanException ex2 = assertThrows(PlanException.class, () -> new FifoKind().plan(reg, pc));
        assertTrue(ex2.getMessage().contains("no fifo entry"), ex2.getMessage());
    }
}
