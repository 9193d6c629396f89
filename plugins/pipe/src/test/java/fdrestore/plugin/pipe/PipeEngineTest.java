package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.info;
import static fdrestore.plugin.pipe.Fixtures.member;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static fdrestore.plugin.pipe.Fixtures.pipeEntry;
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
import fdrestore.api.spi.Batch;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pipes through the engine and alone, for what the contract ({@link PipeContractTest}) does not see: the
 * transport (mocked) and errors no injected syscall fault makes.
 */
class PipeEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FLOOR = 1000;
    private static final long PIPE = 421542;

    private final FakeKernel kernel = new FakeKernel();

    /** One description of the pipe: its id, flags and fd slots. */
    private record Desc(long id, int flags, FleInfo... fles) {
        FileInfo info(long pipeId) {
            return Fixtures.info(id, FdType.PIPE, pipeEntry(id, pipeId, flags), fles);
        }

        PipePlan.Member member() {
            return Fixtures.member(id, flags, fles);
        }
    }

    private Engine engine(Transport transport, PipeData data, int[] pids, Desc... descs) throws RestoreException {
        Engine.Builder b = Engine.builder(transport);
        for (int pid : pids) {
            b.table(kernel.table(pid, FLOOR));
        }
        List<PipePlan.Member> members = new ArrayList<>();
        for (Desc d : descs) {
            members.add(d.member());
        }
        PipePlan plan = PipePlan.of(data.pipeId(), members, data);
        for (Desc d : descs) {
            b.file(d.info(data.pipeId()), "pipe", plan.restorer(d.id));
        }
        return b.build();
    }

    private long count(int pid, String prefix) {
        return kernel.table(pid).calls().stream().filter(c -> c.startsWith(prefix)).count();
    }

    @Test
    void theEndNobodyUsesIsClosedAndNothingIsSent() throws Exception {
        Transport transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
        Desc only = new Desc(7, O_RDONLY, fle(1, 3), fle(1, 9));
        Engine e = engine(transport, new PipeData(PIPE, 65536, pattern(64)), new int[] {1}, only);
        assertTimeoutPreemptively(LIMIT, e::run);
        FakeTaskTable t = kernel.table(1);
        assertEquals(List.of(3, 9), t.openFds());
        assertEquals("pipe r", t.file(3).what());
        String pipe2 = t.calls().stream().filter(c -> c.startsWith("pipe2(")).findFirst().orElseThrow();
        assertEquals(1, count(1, "write("));
        long closes = t.calls().stream().filter(c -> c.startsWith("close(" + (FLOOR + 1) + ")")).count();
        assertEquals(1, closes, "the unused write end (the second temporary) is closed: " + t.calls() + " after " + pipe2);
        verify(transport, never()).send(any(), anyInt(), any(), any(), anyInt());
    }

    @Test
    void sameTaskHandOffNeedsNoTransport() throws Exception {
        Transport transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
        Desc r = new Desc(1, O_RDONLY, fle(1, 3));
        Desc w = new Desc(2, O_WRONLY | O_NONBLOCK, fle(1, 4));
        Engine e = engine(transport, PipeData.none(PIPE), new int[] {1}, r, w);
        assertTimeoutPreemptively(LIMIT, e::run);
        FakeTaskTable t = kernel.table(1);
        assertEquals(List.of(3, 4), t.openFds());
        assertEquals("pipe w", t.file(4).what());
        assertTrue(t.file(4).log().get(t.file(4).log().size() - 1).endsWith(", " + F_SETFL + ", " + O_NONBLOCK + ")"),
                "O_NONBLOCK of the image on the write end: " + t.file(4).log());
        assertEquals(0, count(1, "write("), "no queued data: no write");
        verify(transport, never()).send(any(), anyInt(), any(), any(), anyInt());
    }

    @Test
    void aPipeFullBeforeAllDataIsWrittenIsAClearError() throws Exception {
        TaskTable t = mock(TaskTable.class);
        org.mockito.Mockito.doCallRealMethod().when(t).closeAll(any(), any()); // the interface's rollback, on the mock's close
        Batch b = mock(Batch.class);
        when(t.batch()).thenReturn(b);
        Batch.Ref read = () -> 1000;
        Batch.Ref write = () -> 1001;
        when(b.pipe(anyInt())).thenReturn(new Batch.Ref[] {read, write});
        // One write into the fresh pipe: it takes 4096 of the 5000 bytes.
        when(b.write(org.mockito.ArgumentMatchers.same(write), any())).thenReturn(() -> 4096);
        OpenContext ctx = mock(OpenContext.class);
        when(ctx.table()).thenReturn(t);
        // No size recorded, and the default pipe is smaller than the data: the write finds it full.
        PipePlan bigger = PipePlan.of(PIPE, List.of(member(1, O_RDONLY, fle(1, 3))), new PipeData(PIPE, 0, new byte[5000]));
        IOException ex = assertThrows(IOException.class, () -> bigger.restorer(1).open(ctx));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("4096 of 5000"), ex.getMessage());
        verify(b).close(write); // the unused write end, in the batch
        verify(t).close(1000);  // the read end, after the batch
        verify(ctx, never()).handOff(org.mockito.ArgumentMatchers.anyLong(), anyInt());
    }

    @Test
    void dataLargerThanTheRecordedSizeIsRefusedBeforeAnySyscall() {
        PipeData d = new PipeData(PIPE, 4096, new byte[5000]);
        Exception ex = assertThrows(Exception.class, () -> d.checkFits("pipe"));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("5000")
                && ex.getMessage().contains("4096"), ex.getMessage());
    }

    /** Issue 23 item 6: data no pipe of this system can hold is refused at plan time, never read. */
    @Test
    void dataAbovePipeMaxSizeIsRefusedBeforeAnySyscall() throws Exception {
        PipeData noSize = new PipeData(PIPE, 0, new byte[65537]);
        Exception ex = assertThrows(Exception.class, () -> noSize.checkFits("pipe", 65536));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("65537")
                && ex.getMessage().contains("pipe-max-size 65536"), ex.getMessage());
        PipeData big = new PipeData(PIPE, 4 << 20, new byte[(2 << 20) + 1]);
        ex = assertThrows(Exception.class, () -> big.checkFits("pipe", 1 << 20));
        assertTrue(ex.getMessage().contains("pipe-max-size " + (1 << 20) + ", recorded size " + (4 << 20)),
                ex.getMessage());
        big.checkFits("pipe", 4 << 20); // the sysctl allows it: planned
        new PipeData(PIPE, 0, new byte[65536]).checkFits("pipe", 4096); // a default pipe holds it
        // the sysctl itself, read whole: at least a page, as the kernel rounds it (Files.readString gave 1)
        assertTrue(PipeData.pipeMaxSize() >= 4096, "pipe-max-size read as " + PipeData.pipeMaxSize());
    }
}
