package ${package};

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import fdrestore.testkit.ImageSetBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dump to restore: a real counter of this JVM is dumped by the kind, written as an image set, planned
 * from it and restored by the engine into a fake task's table, which ends up with the same counter and
 * flags at the same fd.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CounterEndToEndTest {
    @TempDir
    Path tmp;

    private static FileEntry dumpRealCounter(long count, int flags) throws Exception {
        int fd = (int) Sys.libc().syscall(Linux.SYS_EVENTFD2, count, flags | Linux.O_CLOEXEC);
        assertTrue(fd >= 0, "eventfd2 failed");
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 1)) {
            CounterKind kind = new CounterKind();
            assertTrue(kind.dumps(ctx.file()), "the kind does not claim a live eventfd");
            return kind.dump(ctx);
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    private static PlanContext context(ImageSet images, Path root) {
        return new PlanContext() {
            @Override
            public ImageSet images() {
                return images;
            }

            @Override
            public Path root() {
                return root;
            }

            @Override
            public String option(String name) {
                return null;
            }
        };
    }

    @Test
    void aDumpedCounterIsRestoredWithItsValueAndFlags() throws Exception {
        FileEntry dumped = dumpRealCounter(42, CounterKind.EFD_NONBLOCK);
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.file(i -> dumped.toBuilder().setId(i).setEfd(dumped.getEfd().toBuilder().setId(i)).build());
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));

        FileInfo info = new FileInfo(id, FdType.EVENTFD, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        FakeKernel kernel = new FakeKernel();
        FakeTaskTable t = kernel.table(1, 50);
        Engine e = Engine.builder(kernel.transport()).table(t)
                .file(info, "${kindName}", new CounterKind().plan(info, context(images, tmp))).build();
        assertTimeoutPreemptively(Duration.ofSeconds(30), e::run);

        assertEquals(List.of(4), t.openFds());
        assertEquals("anon_inode:[eventfd]", t.file(4).what());
        assertTrue(t.calls().contains("eventfd2(0, 2048)"), "not made non-blocking: " + t.calls());
        assertTrue(t.file(4).log().get(0).endsWith("8 bytes) [42, 0, 0, 0, 0, 0, 0, 0]"), t.file(4).log().toString());
    }
}
