package fdrestore.plugin.eventfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.Transport;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The eventfd plugin tested the way a third party can: the testkit's contract test, image builder, fake
 * fd tables and a Mockito-mocked transport. Nothing here needs the rest of fdrestore.
 */
class EventfdContractTest extends FileKindContractTest {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;

    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new EventfdKind();
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long seven = v.eventfd(O_RDWR | O_NONBLOCK, 7);
        long zero = v.eventfd(O_RDWR, 0);
        long sem = v.eventfd(O_RDWR | EventfdKind.EFD_SEMAPHORE, 0xfffffffffffffffeL);
        v.fd(1, 5, seven).fd(2, 5, seven).fd(1, 6, zero, true).fd(2, 3, sem);
        return List.of(Scenario.of("counters and flags, shared", v).expect(x -> {
            assertEquals(List.of("eventfd2(0, 2048)", "write(100, 8 bytes)"), x.callsOf(seven));
            assertTrue(x.file(1, 5).log().contains("write(100, 8 bytes) [7, 0, 0, 0, 0, 0, 0, 0]"), x.file(1, 5).log().toString());
            assertEquals(List.of("eventfd2(0, 0)"), x.callsOf(zero), "a zero counter needs no write");
            assertEquals("eventfd2(0, 1)", x.callsOf(sem).get(0));
            assertTrue(x.file(2, 3).log().get(0).endsWith("[-2, -1, -1, -1, -1, -1, -1, -1]"), x.file(2, 3).log().toString());
            assertEquals(0, x.table(2).calls().stream().filter(c -> c.startsWith("eventfd2(0, 2048)")).count(),
                    "the shared eventfd is created once, by task 1");
        }));
    }

    private static PlanContext ctx(ImageSet images) {
        return TestPlanContext.of(images);
    }

    private static FileInfo info(ImageSet images, long id) {
        return new FileInfo(id, FdType.EVENTFD, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
    }

    @Test
    void aSingleTaskRestoreWithAMockedTransportSendsNothing() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.eventfd(O_RDWR, 42);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        Transport transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
        FakeTaskTable t = new FakeKernel().table(1, 50);
        Engine e = Engine.builder(transport).table(t).file(info(images, id), "eventfd",
                new EventfdKind().plan(info(images, id), ctx(images))).build();
        assertTimeoutPreemptively(Duration.ofSeconds(20), e::run);
        verify(transport).open(t);
        verify(transport, never()).send(any(), anyInt(), any(), any(), anyInt());
        assertEquals(List.of(4), t.openFds());
        assertEquals("anon_inode:[eventfd]", t.file(4).what());
        assertTrue(t.file(4).log().get(0).endsWith("[42, 0, 0, 0, 0, 0, 0, 0]"), t.file(4).log().toString());
    }

    @Test
    void aCounterNoEventfdCanHoldIsAPlanError() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long id = b.eventfd(O_RDWR, -1L);
        b.fd(1, 4, id);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
        PlanException e = assertThrows(PlanException.class, () -> new EventfdKind().plan(info(images, id), ctx(images)));
        assertTrue(e.getMessage().contains("eventfd file " + id) && e.getMessage().contains("0xffffffffffffffff"),
                e.getMessage());
    }
}
