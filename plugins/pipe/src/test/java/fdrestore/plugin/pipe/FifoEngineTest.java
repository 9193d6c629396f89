package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.S_IFIFO;
import static fdrestore.plugin.pipe.Fixtures.fifoEntry;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.info;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** FIFOs through the engine on the fake kernel: what the contract ({@link FifoContractTest}) cannot inject. */
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
}
