package fdrestore.plugin.pipe;

import static fdrestore.core.sys.Linux.F_SETFL;
import static fdrestore.core.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.core.sys.Linux.O_CLOEXEC;
import static fdrestore.core.sys.Linux.O_NONBLOCK;
import static fdrestore.core.sys.Linux.O_RDONLY;
import static fdrestore.core.sys.Linux.O_WRONLY;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.info;
import static fdrestore.plugin.pipe.Fixtures.member;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static fdrestore.plugin.pipe.Fixtures.pipeEntry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.FdType;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.FleInfo;
import fdrestore.core.spi.OpenContext;
import fdrestore.core.spi.TaskTable;
import fdrestore.core.spi.Transport;
import fdrestore.core.sys.Errno;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FakeTaskTable;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pipes through the engine on the testkit's fake kernel: who creates, who receives what, what is left. */
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

    private static int indexOf(List<String> log, String prefix) {
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    private static int fdOf(String call) {
        return Integer.parseInt(call.substring(call.indexOf('(') + 1, call.indexOf(',')));
    }

    private static boolean logHas(FakeFile f, String text) {
        return f.log().stream().anyMatch(c -> c.startsWith(text));
    }

    private void assertNoTemporaries(int... pids) {
        for (int pid : pids) {
            assertEquals(List.of(), kernel.table(pid).temporaries(), "temporaries left in task " + pid);
        }
    }

    @Test
    void oneCreatorWritesTheDataOnceAfterTheSizeAndHandsTheOtherEndAcrossTasks() throws Exception {
        byte[] bytes = pattern(1000);
        PipeData data = new PipeData(PIPE, 131072, bytes);
        // a_pipe's pipe P: the read end in tasks 1, 2, 4 at fd 3 and in task 3 at fd 100; the write end next to it.
        Desc read = new Desc(5, O_RDONLY, fle(1, 3), fle(2, 3), fle(3, 100), fle(4, 3));
        Desc write = new Desc(6, O_WRONLY, fle(1, 4), fle(2, 4), fle(3, 101), fle(4, 4));
        Engine e = engine(kernel.transport(), data, new int[] {1, 2, 3, 4}, read, write);
        assertTimeoutPreemptively(LIMIT, e::run);

        assertEquals(1, count(1, "pipe2("), "task 1 creates the pipe");
        for (int pid = 2; pid <= 4; pid++) {
            assertEquals(0, count(pid, "pipe2("), "task " + pid + " creates no pipe");
            assertEquals(0, count(pid, "write("), "task " + pid + " writes no data");
        }
        assertEquals(1, count(1, "write("), "the data is written once, in one write");
        assertTrue(kernel.table(1).calls().contains("pipe2(0" + Integer.toOctalString(O_CLOEXEC | O_NONBLOCK) + ")"),
                kernel.table(1).calls().toString());

        FakeFile r = kernel.table(1).file(3);
        FakeFile w = kernel.table(1).file(4);
        assertEquals("pipe r", r.what());
        assertEquals("pipe w", w.what());
        for (int pid = 2; pid <= 4; pid++) {
            assertSame(r, kernel.table(pid).file(pid == 3 ? 100 : 3), "read end in task " + pid);
            assertSame(w, kernel.table(pid).file(pid == 3 ? 101 : 4), "write end in task " + pid);
        }
        List<String> wlog = w.log();
        int size = indexOf(wlog, "fcntl(");
        int written = indexOf(wlog, "write(");
        assertTrue(size >= 0 && wlog.get(size).endsWith(", " + F_SETPIPE_SZ + ", 131072)"), wlog.toString());
        assertTrue(written > size, "the size is restored before the data: " + wlog);
        assertTrue(wlog.get(written).startsWith("write(" + fdOf(wlog.get(written)) + ", 1000 bytes)"), wlog.toString());
        // The status flags of both descriptions are set to the image's (pipe2 made them non-blocking).
        assertTrue(logHas(r, "fcntl(") && r.log().get(r.log().size() - 1).endsWith(", " + F_SETFL + ", 0)"), r.log().toString());
        assertTrue(w.log().get(w.log().size() - 1).endsWith(", " + F_SETFL + ", 0)"), w.log().toString());
        assertNoTemporaries(1, 2, 3, 4);
        assertEquals(0, count(1, "dup("), "both ends are used as they are: no copy");
    }

    @Test
    void aDescriptionWhoseEndTheCreatorKeepsReopensACopyThroughThreadSelf() throws Exception {
        // Two read descriptions and one write description (b_fifo's shape, but an anonymous pipe).
        Desc r1 = new Desc(1, O_RDONLY, fle(1, 3));
        Desc r2 = new Desc(2, O_RDONLY | O_NONBLOCK, fle(2, 5));
        Desc w = new Desc(3, O_WRONLY, fle(2, 4), fle(1, 4));
        Engine e = engine(kernel.transport(), new PipeData(PIPE, 0, pattern(10)), new int[] {1, 2}, r1, r2, w);
        assertTimeoutPreemptively(LIMIT, e::run);

        FakeFile own = kernel.table(2).file(5);
        assertNotNull(own);
        assertTrue(own.what().startsWith("/proc/thread-self/fd/"), own.what());
        assertEquals(O_RDONLY | O_NONBLOCK | O_CLOEXEC, own.flags());
        assertNotSame(kernel.table(1).file(3), own, "a reopen is a description of its own");
        assertEquals("pipe w", kernel.table(2).file(4).what(), "the write end went directly");
        assertSame(kernel.table(1).file(4), kernel.table(2).file(4));
        int copy = Integer.parseInt(own.what().substring("/proc/thread-self/fd/".length()));
        assertTrue(kernel.table(2).calls().contains("close(" + copy + ")"), "the handed copy is closed after the reopen");
        assertEquals(1, count(1, "dup("), "one copy of the kept read end");
        assertEquals(0, count(1, "fcntl(" + F_SETPIPE_SZ), "no size in the image: none set");
        assertNoTemporaries(1, 2);
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
    void aFailedWriteClosesBothEndsAndNamesThePipe() throws Exception {
        kernel.table(1, FLOOR).failOn("write", 1, Errno.EIO);
        kernel.table(2, FLOOR);
        Engine.Builder b = Engine.builder(kernel.transport()).table(kernel.table(1)).table(kernel.table(2));
        Desc r = new Desc(1, O_RDONLY, fle(1, 3));
        Desc w = new Desc(2, O_WRONLY, fle(2, 4));
        PipePlan plan = PipePlan.of(PIPE, List.of(r.member(), w.member()), new PipeData(PIPE, 0, pattern(100)));
        Engine e = b.file(r.info(PIPE), "pipe", plan.restorer(1)).file(w.info(PIPE), "pipe", plan.restorer(2)).build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("EIO"), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds(), "both pipe ends were closed");
        assertNoTemporaries(1, 2);
    }

    @Test
    void aFailedCopyClosesEverythingTheCreatorMade() throws Exception {
        kernel.table(1, FLOOR).failOn("dup", 1, Errno.EMFILE);
        kernel.table(2, FLOOR);
        Desc r1 = new Desc(1, O_RDONLY, fle(1, 3));
        Desc r2 = new Desc(2, O_RDONLY, fle(2, 3));
        Desc w = new Desc(3, O_WRONLY, fle(2, 4));
        PipePlan plan = PipePlan.of(PIPE, List.of(r1.member(), r2.member(), w.member()), PipeData.none(PIPE));
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1)).table(kernel.table(2))
                .file(r1.info(PIPE), "pipe", plan.restorer(1)).file(r2.info(PIPE), "pipe", plan.restorer(2))
                .file(w.info(PIPE), "pipe", plan.restorer(3)).build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("EMFILE"), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds());
        assertEquals(0, kernel.queued(2), "nothing was handed off");
        assertNoTemporaries(1, 2);
    }

    @Test
    void aFailedReopenClosesTheHandedCopy() throws Exception {
        kernel.table(1, FLOOR);
        kernel.table(2, FLOOR).failOn("open", 1, Errno.EACCES);
        Desc r1 = new Desc(1, O_RDONLY, fle(1, 3));
        Desc r2 = new Desc(2, O_RDONLY, fle(2, 3));
        PipePlan plan = PipePlan.of(PIPE, List.of(r1.member(), r2.member()), PipeData.none(PIPE));
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1)).table(kernel.table(2))
                .file(r1.info(PIPE), "pipe", plan.restorer(1)).file(r2.info(PIPE), "pipe", plan.restorer(2)).build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertEquals(2, ex.pid());
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("reopen")
                && ex.getMessage().contains("EACCES"), ex.getMessage());
        assertEquals(List.of(), kernel.table(2).openFds(), "the received copy was closed");
    }

    @Test
    void aPipeFullBeforeAllDataIsWrittenIsAClearError() throws Exception {
        TaskTable t = mock(TaskTable.class);
        when(t.pipe(anyInt())).thenReturn(new int[] {1000, 1001});
        when(t.write(org.mockito.ArgumentMatchers.eq(1001), any(), anyInt(), anyInt())).thenReturn(4096, -1);
        OpenContext ctx = mock(OpenContext.class);
        when(ctx.table()).thenReturn(t);
        // No size recorded, and the default pipe is smaller than the data: the write finds it full.
        PipePlan bigger = PipePlan.of(PIPE, List.of(member(1, O_RDONLY, fle(1, 3))), new PipeData(PIPE, 0, new byte[5000]));
        IOException ex = assertThrows(IOException.class, () -> bigger.restorer(1).open(ctx));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("4096 of 5000"), ex.getMessage());
        verify(t).close(1000);
        verify(t).close(1001);
        verify(ctx, never()).handOff(org.mockito.ArgumentMatchers.anyLong(), anyInt());
    }

    @Test
    void dataLargerThanTheRecordedSizeIsRefusedBeforeAnySyscall() {
        PipeData d = new PipeData(PIPE, 4096, new byte[5000]);
        Exception ex = assertThrows(Exception.class, () -> d.checkFits("pipe"));
        assertTrue(ex.getMessage().contains("pipe " + PIPE) && ex.getMessage().contains("5000")
                && ex.getMessage().contains("4096"), ex.getMessage());
    }
}
