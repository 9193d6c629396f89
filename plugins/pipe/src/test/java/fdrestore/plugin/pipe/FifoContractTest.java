package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.F_SETPIPE_SZ;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.api.sys.Linux.S_IFIFO;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.TaskTable;
import fdrestore.testkit.FileKindContractTest;
import java.util.List;

/** The file-kind contract for named FIFOs: fake O_RDWR open first, real open, data once, no leftovers. */
class FifoContractTest extends FileKindContractTest {
    static final long PIPE = 2156375;
    static final String PATH = "/tmp/criu-work/run/b.fifo";
    static final TaskTable.Stat FIFO_STAT = new TaskTable.Stat(S_IFIFO | 0600, 0, 1, 77, 0);

    @Override
    protected FileKind kind() {
        return new FifoKind();
    }

    /** Every error names the fifo and its path, and nothing of the failed open is left, not even the root fd. */
    private static Scenario fifo(String name, PipeImageSet images) {
        return Scenario.of(name, images::write).stat(PATH, FIFO_STAT).onFault(f -> {
            assertTrue(f.mentions("fifo " + PATH), f.call() + ": " + f.error().getMessage());
            assertEquals(List.of(), f.kernel().table(1).openFds(), "after EIO in " + f.call());
        });
    }

    @Override
    protected List<Scenario> scenarios() {
        // b_fifo: task 1 fd 3 O_RDWR (shared with task 2 fd 3), task 2 fd 4 O_WRONLY and fd 5 O_RDONLY|O_NONBLOCK.
        PipeImageSet b = new PipeImageSet().task(1, 0).task(2, 1);
        long rdwr = b.fifo(PIPE, PATH, O_RDWR | O_LARGEFILE);
        long wr = b.fifo(PIPE, PATH, O_WRONLY | O_LARGEFILE);
        long rd = b.fifo(PIPE, PATH, O_RDONLY | O_NONBLOCK | O_LARGEFILE);
        b.fd(1, 3, rdwr).fd(2, 3, rdwr).fd(2, 4, wr).fd(2, 5, rd).fifoData(PIPE, pattern(500), 65536);

        PipeImageSet writer = new PipeImageSet().task(1, 0);
        writer.fd(1, 3, writer.fifo(PIPE, PATH, O_WRONLY)).fifoData(PIPE, pattern(3), 0);

        PipeImageSet reader = new PipeImageSet().task(1, 0);
        reader.fd(1, 3, reader.fifo(PIPE, PATH, O_RDONLY)).fifoData(PIPE, pattern(3), 0);

        return List.of(
                Scenario.of("b_fifo: three descriptions in two tasks, data", b::write).stat(PATH, FIFO_STAT)
                        .onFault(f -> assertTrue(f.mentions(PATH), f.call() + ": " + f.error().getMessage()))
                        .expect(x -> {
                    assertEquals(O_RDWR | O_LARGEFILE | O_CLOEXEC, x.file(1, 3).flags());
                    assertEquals(O_WRONLY | O_LARGEFILE | O_CLOEXEC, x.file(2, 4).flags());
                    assertEquals(O_RDONLY | O_NONBLOCK | O_LARGEFILE | O_CLOEXEC, x.file(2, 5).flags());
                    for (int pid : new int[] {1, 2}) {
                        List<String> calls = x.table(pid).calls();
                        assertTrue(calls.stream().anyMatch(c -> c.startsWith("open(" + x.root() + ", ")), calls.toString());
                        assertTrue(calls.stream().anyMatch(c -> c.startsWith("openat2(") && c.contains(PATH)
                                && c.contains("resolve=0x10")), "resolved in the root: " + calls);
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
                    }
                    long writes = x.table(1).calls().stream().filter(c -> c.startsWith("write(")).count()
                            + x.table(2).calls().stream().filter(c -> c.startsWith("write(")).count();
                    assertEquals(1, writes, "the data is written once per fifo");
                    assertEquals(0, x.table(2).calls().stream().filter(c -> c.startsWith("fcntl(")).count(),
                            "only the data owner sets the size");
                    // The data went through the fake fd (O_RDWR|O_NONBLOCK), after its size, and that fd was then closed.
                    List<String> calls = x.table(1).calls();
                    String write = calls.stream().filter(c -> c.startsWith("write(")).findFirst().orElseThrow();
                    int fakeFd = Integer.parseInt(write.substring(6, write.indexOf(',')));
                    int size = calls.indexOf("fcntl(" + fakeFd + ", " + F_SETPIPE_SZ + ", 65536)");
                    assertTrue(size >= 0 && size < calls.indexOf(write), calls.toString());
                    assertTrue(calls.indexOf("close(" + fakeFd + ")") > calls.indexOf(write), calls.toString());
                    assertTrue(write.startsWith("write(" + fakeFd + ", 500 bytes)"), write);
                    assertTrue(x.file(1, 3).what().startsWith("/proc/thread-self/fd/"), x.file(1, 3).what());
                }),
                fifo("a writer with data", writer),
                fifo("a reader with data", reader).onFault(f -> {
                    if (f.call().startsWith("write(")) {
                        assertTrue(f.mentions("pipe " + PIPE), f.error().getMessage());
                    }
                }));
    }
}
