package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FileKindContractTest;
import java.util.List;

/**
 * The file-kind contract for pipes: who creates, who receives what, and that every failure closes what
 * the pipe made and names the pipe. Shapes from the a_pipe and b_fifo samples and from criu's pipe tests.
 */
class PipeContractTest extends FileKindContractTest {
    static final long PIPE = 421542;

    @Override
    protected FileKind kind() {
        return new PipeKind();
    }

    private static long count(Restore x, int pid, String prefix) {
        return x.table(pid).calls().stream().filter(c -> c.startsWith(prefix)).count();
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

    /** Every error names the pipe. */
    private static Scenario namesThePipe(Scenario s) {
        return s.onFault(f -> assertTrue(f.mentions("pipe " + PIPE), f.call() + ": " + f.error().getMessage()));
    }

    @Override
    protected List<Scenario> scenarios() {
        // a_pipe: the read end in tasks 1, 2, 4 at fd 3 and in task 3 at fd 100; the write end next to it.
        PipeImageSet a = new PipeImageSet().task(1, 0).task(2, 1).task(3, 1).task(4, 1);
        long read = a.pipe(PIPE, O_RDONLY);
        long write = a.pipe(PIPE, O_WRONLY);
        for (int pid = 1; pid <= 4; pid++) {
            a.fd(pid, pid == 3 ? 100 : 3, read).fd(pid, pid == 3 ? 101 : 4, write);
        }
        a.pipeData(PIPE, pattern(1000), 131072);

        // Two read descriptions and one write description: the creator keeps its read end, so task 2 reopens a copy.
        PipeImageSet keep = new PipeImageSet().task(1, 0).task(2, 1);
        long kr1 = keep.pipe(PIPE, O_RDONLY);
        long kr2 = keep.pipe(PIPE, O_RDONLY | O_NONBLOCK);
        long kw = keep.pipe(PIPE, O_WRONLY);
        keep.fd(1, 3, kr1).fd(2, 5, kr2).fd(2, 4, kw).fd(1, 4, kw);
        keep.pipeData(PIPE, pattern(10), 0);

        // Only the read end has fds (twice in one task): the write end is made and closed.
        PipeImageSet unused = new PipeImageSet().task(1, 0);
        long only = unused.pipe(PIPE, O_RDONLY);
        unused.fd(1, 3, only).fd(1, 9, only);
        unused.pipeData(PIPE, pattern(64), 65536);

        // Both ends in one task, the write end non-blocking, no data.
        PipeImageSet same = new PipeImageSet().task(1, 0);
        long sr = same.pipe(PIPE, O_RDONLY);
        long sw = same.pipe(PIPE, O_WRONLY | O_NONBLOCK);
        same.fd(1, 3, sr).fd(1, 4, sw);

        // The read end in task 1, the write end in task 2, data queued.
        PipeImageSet apart = new PipeImageSet().task(1, 0).task(2, 1);
        long ar = apart.pipe(PIPE, O_RDONLY);
        long aw = apart.pipe(PIPE, O_WRONLY);
        apart.fd(1, 3, ar).fd(2, 4, aw).pipeData(PIPE, pattern(100), 0);

        // Two read descriptions in two tasks and the write end in the second: the creator makes a copy.
        PipeImageSet copy = new PipeImageSet().task(1, 0).task(2, 1);
        long cr1 = copy.pipe(PIPE, O_RDONLY);
        long cr2 = copy.pipe(PIPE, O_RDONLY);
        long cw = copy.pipe(PIPE, O_WRONLY);
        copy.fd(1, 3, cr1).fd(2, 3, cr2).fd(2, 4, cw);

        // More than PIPE_BUF queued, read end in task 1, write end in task 2: made non-blocking for the write.
        PipeImageSet big = new PipeImageSet().task(1, 0).task(2, 1);
        long br = big.pipe(PIPE, O_RDONLY);
        long bw = big.pipe(PIPE, O_WRONLY);
        big.fd(1, 3, br).fd(2, 4, bw).pipeData(PIPE, pattern(5000), 0);

        // Two read descriptions only: the second reopens the handed copy.
        PipeImageSet reopen = new PipeImageSet().task(1, 0).task(2, 1);
        long rr1 = reopen.pipe(PIPE, O_RDONLY);
        long rr2 = reopen.pipe(PIPE, O_RDONLY);
        reopen.fd(1, 3, rr1).fd(2, 3, rr2);

        return List.of(
                namesThePipe(Scenario.of("a_pipe: one pipe in four tasks, with data and a size", a::write)).expect(x -> {
                    assertEquals(1, count(x, 1, "pipe2("), "task 1 creates the pipe");
                    for (int pid = 2; pid <= 4; pid++) {
                        assertEquals(0, count(x, pid, "pipe2("), "task " + pid + " creates no pipe");
                        assertEquals(0, count(x, pid, "write("), "task " + pid + " writes no data");
                    }
                    assertEquals(1, count(x, 1, "write("), "the data is written once, in one write");
                    // 1,000 bytes: no more than PIPE_BUF, so the write cannot block and pipe2 makes the ends
                    // blocking, as the image wants them: no F_SETFL.
                    assertTrue(x.table(1).calls().contains("pipe2(0" + Integer.toOctalString(O_CLOEXEC) + ")"),
                            x.table(1).calls().toString());
                    FakeFile r = x.file(1, 3);
                    FakeFile w = x.file(1, 4);
                    assertEquals("pipe r", r.what());
                    assertEquals("pipe w", w.what());
                    List<String> wlog = w.log();
                    int size = indexOf(wlog, "fcntl(");
                    int written = indexOf(wlog, "write(");
                    assertTrue(size >= 0 && wlog.get(size).endsWith(", " + F_SETPIPE_SZ + ", 131072)"), wlog.toString());
                    assertTrue(written > size, "the size is restored before the data: " + wlog);
                    assertTrue(wlog.get(written).startsWith("write(" + fdOf(wlog.get(written)) + ", 1000 bytes)"),
                            wlog.toString());
                    assertEquals(-1, indexOf(r.log(), "fcntl("), "no F_SETFL: " + r.log());
                    assertEquals(1, count(x, 1, "fcntl("), "only the size: " + x.table(1).calls());
                    assertEquals(0, count(x, 1, "dup("), "both ends are used as they are: no copy");
                }),
                namesThePipe(Scenario.of("more than PIPE_BUF queued: non-blocking while it is written", big::write)).expect(x -> {
                    assertTrue(x.table(1).calls().contains("pipe2(0" + Integer.toOctalString(O_CLOEXEC | O_NONBLOCK) + ")"),
                            x.table(1).calls().toString());
                    List<String> rlog = x.file(1, 3).log();
                    List<String> wlog = x.file(2, 4).log();
                    assertTrue(indexOf(wlog, "write(") >= 0 && wlog.get(wlog.size() - 1).endsWith(", " + F_SETFL + ", 0)"),
                            "the write end handed over blocking, as in the image: " + wlog);
                    assertTrue(rlog.get(rlog.size() - 1).endsWith(", " + F_SETFL + ", 0)"), rlog.toString());
                    assertEquals(0, count(x, 2, "fcntl("), "the receiver makes no call: " + x.table(2).calls());
                }),
                namesThePipe(Scenario.of("the creator keeps its end: a copy is reopened", keep::write)).expect(x -> {
                    FakeFile own = x.file(2, 5);
                    assertTrue(own.what().startsWith("/proc/thread-self/fd/"), own.what());
                    assertEquals(O_RDONLY | O_NONBLOCK | O_CLOEXEC, own.flags());
                    assertNotSame(x.file(1, 3), own, "a reopen is a description of its own");
                    assertEquals("pipe w", x.file(2, 4).what(), "the write end went directly");
                    int handed = Integer.parseInt(own.what().substring("/proc/thread-self/fd/".length()));
                    assertTrue(x.table(2).calls().contains("close(" + handed + ")"),
                            "the handed copy is closed after the reopen: " + x.table(2).calls());
                    assertEquals(1, count(x, 1, "dup("), "one copy of the kept read end");
                    assertEquals(0, count(x, 1, "fcntl(" + F_SETPIPE_SZ), "no size in the image: none set");
                }),
                namesThePipe(Scenario.of("the end nobody uses is closed", unused::write)).expect(x -> {
                    assertEquals("pipe r", x.file(1, 3).what());
                    assertEquals(1, count(x, 1, "write("));
                    // pipe2 installs the read end at the floor, the write end right above it.
                    int writeEnd = x.table(1).tempFloor() + 1;
                    assertEquals(1, count(x, 1, "close(" + writeEnd + ")"),
                            "the unused write end (the second temporary) is closed: " + x.table(1).calls());
                }),
                namesThePipe(Scenario.of("both ends in one task, the write end non-blocking", same::write)).expect(x -> {
                    List<String> wlog = x.file(1, 4).log();
                    assertEquals("pipe w", x.file(1, 4).what());
                    assertTrue(wlog.get(wlog.size() - 1).endsWith(", " + F_SETFL + ", " + O_NONBLOCK + ")"),
                            "O_NONBLOCK of the image on the write end: " + wlog);
                    assertEquals(0, count(x, 1, "write("), "no queued data: no write");
                }),
                namesThePipe(Scenario.of("the ends in two tasks, data queued", apart::write)).onFault(f -> {
                    if (f.call().startsWith("write(")) {
                        assertEquals(List.of(), f.kernel().table(1).openFds(), "both pipe ends were closed");
                    }
                }),
                namesThePipe(Scenario.of("a copy for another task's read description", copy::write)).onFault(f -> {
                    if (f.call().startsWith("dup(")) {
                        assertEquals(List.of(), f.kernel().table(1).openFds(), "the creator closed what it made");
                        assertEquals(0, f.kernel().queued(2), "nothing was handed off");
                    }
                }),
                namesThePipe(Scenario.of("a reopen of the handed copy", reopen::write)).onFault(f -> {
                    if (f.call().startsWith("open(")) {
                        assertTrue(f.mentions("reopen"), f.error().getMessage());
                        assertEquals(List.of(), f.kernel().table(2).openFds(), "the received copy was closed");
                    }
                }));
    }
}
