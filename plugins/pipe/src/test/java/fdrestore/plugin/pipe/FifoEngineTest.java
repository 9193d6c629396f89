package fdrestore.plugin.pipe;

import static fdrestore.core.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.core.sys.Linux.O_CLOEXEC;
import static fdrestore.core.sys.Linux.O_LARGEFILE;
import static fdrestore.core.sys.Linux.O_NONBLOCK;
import static fdrestore.core.sys.Linux.O_RDONLY;
import static fdrestore.core.sys.Linux.O_RDWR;
import static fdrestore.core.sys.Linux.O_WRONLY;
import static fdrestore.core.sys.Linux.S_IFIFO;
import static fdrestore.plugin.pipe.Fixtures.fifoEntry;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.info;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.FdType;
import fdrestore.core.spi.TaskTable;
import fdrestore.core.sys.Errno;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FakeTaskTable;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** FIFOs through the engine on the fake kernel: fake O_RDWR open first, real open, data once, no leftovers. */
class FifoEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FLOOR = 1000;
    private static final long PIPE = 2156375;
    private static final String PATH = "/tmp/criu-work/run/b.fifo";
    private static final TaskTable.Stat FIFO_STAT = new TaskTable.Stat(S_IFIFO | 0600, 0, 1, 77, 0);

    private final FakeKernel kernel = new FakeKernel();

    private FakeTaskTable table(int pid) {
        return kernel.table(pid, FLOOR).stat(PATH, FIFO_STAT);
    }

    private static int procFd(String what) {
        assertTrue(what.startsWith("/proc/thread-self/fd/"), what);
        return Integer.parseInt(what.substring("/proc/thread-self/fd/".length()));
    }

    /** b_fifo: task 1 fd 3 O_RDWR (shared with task 2 fd 3), task 2 fd 4 O_WRONLY and fd 5 O_RDONLY|O_NONBLOCK. */
    @Test
    void everyDescriptionOpensOnItsOwnAfterAFakeOpenAndTheDataGoesInOnce() throws Exception {
        table(1);
        table(2);
        PipeData data = new PipeData(PIPE, 65536, pattern(500));
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1)).table(kernel.table(2))
                .root(Paths.get("/srv/root"))
                .file(info(5, FdType.FIFO, fifoEntry(5, PIPE, 6), fle(1, 3), fle(2, 3)), "fifo",
                        new FifoRestorer(5, PIPE, PATH, O_RDWR | O_LARGEFILE, data))
                .file(info(9, FdType.FIFO, fifoEntry(9, PIPE, 10), fle(2, 4)), "fifo",
                        new FifoRestorer(9, PIPE, PATH, O_WRONLY | O_LARGEFILE, null))
                .file(info(11, FdType.FIFO, fifoEntry(11, PIPE, 12), fle(2, 5)), "fifo",
                        new FifoRestorer(11, PIPE, PATH, O_RDONLY | O_NONBLOCK | O_LARGEFILE, null))
                .build();
        assertTimeoutPreemptively(LIMIT, e::run);

        assertSame(kernel.table(1).file(3), kernel.table(2).file(3), "fd 3 is one description in both tasks");
        assertEquals(O_RDWR | O_LARGEFILE | O_CLOEXEC, kernel.table(1).file(3).flags());
        assertEquals(O_WRONLY | O_LARGEFILE | O_CLOEXEC, kernel.table(2).file(4).flags());
        assertEquals(O_RDONLY | O_NONBLOCK | O_LARGEFILE | O_CLOEXEC, kernel.table(2).file(5).flags());

        for (int pid : new int[] {1, 2}) {
            List<String> calls = kernel.table(pid).calls();
            assertTrue(calls.stream().anyMatch(c -> c.startsWith("open(/srv/root, ")), calls.toString());
            assertTrue(calls.stream().anyMatch(c -> c.startsWith("openat2(") && c.contains(PATH) && c.contains("resolve=0x10")),
                    "resolved in the root: " + calls);
            String fakeFlags = ", 0" + Integer.toOctalString(O_RDWR | O_NONBLOCK | O_CLOEXEC) + ")";
            int reals = 0;
            for (int i = 0; i < calls.size(); i++) {
                String c = calls.get(i);
                if (c.startsWith("open(/proc/thread-self/fd/") && !c.endsWith(fakeFlags)) {
                    reals++;
                    String path = c.substring(0, c.indexOf(','));
                    assertEquals(path + fakeFlags, calls.get(i - 1), "the fake O_RDWR open comes right before: " + calls);
                }
            }
            assertEquals(pid == 1 ? 1 : 2, reals, calls.toString());
            assertEquals(List.of(), kernel.table(pid).temporaries(), "temporaries left in task " + pid);
        }
        long writes = kernel.table(1).calls().stream().filter(c -> c.startsWith("write(")).count()
                + kernel.table(2).calls().stream().filter(c -> c.startsWith("write(")).count();
        assertEquals(1, writes, "the data is written once per fifo");
        assertEquals(0, kernel.table(2).calls().stream().filter(c -> c.startsWith("fcntl(")).count(),
                "only the data owner sets the size");
        // The data went through the fake fd (O_RDWR|O_NONBLOCK), after its size, and that fd was then closed.
        String write = kernel.table(1).calls().stream().filter(c -> c.startsWith("write(")).findFirst().orElseThrow();
        int fakeFd = Integer.parseInt(write.substring(6, write.indexOf(',')));
        List<String> calls = kernel.table(1).calls();
        int size = calls.indexOf("fcntl(" + fakeFd + ", " + F_SETPIPE_SZ + ", 65536)");
        assertTrue(size >= 0 && size < calls.indexOf(write), calls.toString());
        assertTrue(calls.indexOf("close(" + fakeFd + ")") > calls.indexOf(write), calls.toString());
        assertTrue(write.startsWith("write(" + fakeFd + ", 500 bytes)"), write);
        procFd(kernel.table(1).file(3).what());
    }

    @Test
    void aPathThatIsNotAFifoIsRefusedAndNothingIsLeft() throws Exception {
        kernel.table(1, FLOOR); // fstat answers a regular file
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1))
                .file(info(5, FdType.FIFO, fifoEntry(5, PIPE, 6), fle(1, 3)), "fifo",
                        new FifoRestorer(5, PIPE, PATH, O_RDWR, null))
                .build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains(PATH) && ex.getMessage().contains("not a FIFO")
                && ex.getMessage().contains("0100644"), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds());
        assertTrue(kernel.table(1).calls().stream().noneMatch(c -> c.startsWith("open(/proc/")),
                "nothing but O_PATH opens a path that is not a fifo: " + kernel.table(1).calls());
    }

    @Test
    void aMissingPathNamesThePathAndTheRoot() throws Exception {
        table(1).failOn("openat2", 1, Errno.ENOENT);
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1)).root(Paths.get("/srv/root"))
                .file(info(5, FdType.FIFO, fifoEntry(5, PIPE, 6), fle(1, 3)), "fifo",
                        new FifoRestorer(5, PIPE, PATH, O_RDONLY, null))
                .build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains(PATH + " does not exist under root /srv/root"), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds(), "the root fd was closed");
    }

    @Test
    void aFailedRealOpenClosesTheFakeOpenAndTheRoot() throws Exception {
        table(1).failOn("open", 3, Errno.EACCES); // root, fake, real
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1))
                .file(info(5, FdType.FIFO, fifoEntry(5, PIPE, 6), fle(1, 3)), "fifo",
                        new FifoRestorer(5, PIPE, PATH, O_WRONLY, new PipeData(PIPE, 0, pattern(3))))
                .build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("fifo " + PATH) && ex.getMessage().contains("EACCES"), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds());
    }

    @Test
    void aFailedDataWriteClosesEveryFd() throws Exception {
        table(1).failOn("write", 1, Errno.EIO);
        Engine e = Engine.builder(kernel.transport()).table(kernel.table(1))
                .file(info(5, FdType.FIFO, fifoEntry(5, PIPE, 6), fle(1, 3)), "fifo",
                        new FifoRestorer(5, PIPE, PATH, O_RDONLY, new PipeData(PIPE, 0, pattern(3))))
                .build();
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains(PATH) && ex.getMessage().contains("pipe " + PIPE), ex.getMessage());
        assertEquals(List.of(), kernel.table(1).openFds());
        FakeFile none = kernel.table(1).file(3);
        assertEquals(null, none);
    }
}
