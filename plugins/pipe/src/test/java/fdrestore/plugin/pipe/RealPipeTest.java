package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.FD_CLOEXEC;
import static fdrestore.api.sys.Linux.FIONREAD;
import static fdrestore.api.sys.Linux.F_GETFD;
import static fdrestore.api.sys.Linux.F_GETFL;
import static fdrestore.api.sys.Linux.F_GETPIPE_SZ;
import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.KCMP_FILE;
import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.api.sys.Linux.S_IFIFO;
import static fdrestore.plugin.pipe.Fixtures.cloexecFle;
import static fdrestore.plugin.pipe.Fixtures.fifoEntry;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.info;
import static fdrestore.plugin.pipe.Fixtures.pattern;
import static fdrestore.plugin.pipe.Fixtures.pipeEntry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Sys;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipes and FIFOs restored into real private fd tables (the task runtime) by the engine, checked with the
 * kernel: queued bytes (FIONREAD), content, pipe size, inode identity, flags, no temporaries left. One task
 * per restore: the transport is a Mockito mock that never has anything queued.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealPipeTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int FLOOR = 200;
    private static final int PID = 1;
    private static final long PIPE = 421542;

    @TempDir
    Path root;

    private TaskRuntime runtime;
    private ExecutorTaskTable table;
    private Transport transport;

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(PID, FLOOR);
        transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private record Desc(long id, int flags, FleInfo... fles) {
    }

    private Engine pipeEngine(PipeData data, Desc... descs) throws RestoreException {
        Engine.Builder b = Engine.builder(transport).table(table).root(root);
        List<PipePlan.Member> members = new ArrayList<>();
        for (Desc d : descs) {
            members.add(Fixtures.member(d.id, d.flags, d.fles));
        }
        PipePlan plan = PipePlan.of(data.pipeId(), members, data);
        for (Desc d : descs) {
            FileInfo fi = info(d.id, FdType.PIPE, pipeEntry(d.id, data.pipeId(), d.flags), d.fles);
            b.file(fi, "pipe", plan.restorer(d.id));
        }
        return b.build();
    }

    private int fionread(int fd) throws Exception {
        byte[] buf = new byte[4];
        table.ioctl(fd, FIONREAD, buf);
        return ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private int statusFlags(int fd) throws Exception {
        return (int) table.fcntl(fd, F_GETFL, 0) & (O_ACCMODE | O_NONBLOCK);
    }

    /** Reads exactly {@code n} bytes from a pipe that holds at least that many (never blocks). */
    private byte[] readExactly(int fd, int n) throws Exception {
        byte[] out = new byte[n];
        int off = 0;
        while (off < n) {
            int got = table.read(fd, out, off, n - off);
            assertTrue(got > 0, "read returned " + got + " after " + off + " of " + n + " bytes");
            off += got;
        }
        return out;
    }

    /** Same open file description (kcmp KCMP_FILE on the executor thread's table). */
    private boolean sameDescription(int fd1, int fd2) throws Exception {
        return Sys.kcmp(table.tid(), table.tid(), KCMP_FILE, fd1, fd2) == 0;
    }

    /** The fdinfo "flags:" line of an fd of the executor's table, read from this (main) thread. */
    private int fdinfoFlags(int fd) throws Exception {
        Path p = Path.of("/proc/self/task/" + table.tid() + "/fdinfo/" + fd);
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        throw new AssertionError("no flags line in " + p);
    }

    private void assertNoTemporaries() throws Exception {
        List<String> left = new ArrayList<>();
        for (int fd : table.listFds()) {
            if (fd >= FLOOR) {
                left.add(fd + " -> " + Files.readSymbolicLink(Path.of("/proc/self/task/" + table.tid() + "/fd/" + fd)));
            }
        }
        assertEquals(List.of(), left, "temporaries left in the task table");
    }

    private Path mkfifo(String rel) throws Exception {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Process pr = new ProcessBuilder("mkfifo", "-m", "600", p.toString()).inheritIO().start();
        assertTrue(pr.waitFor(10, TimeUnit.SECONDS) && pr.exitValue() == 0, "mkfifo " + p);
        return p;
    }

    // ---- pipes --------------------------------------------------------------------------------------

    @Test
    void bothEndsOfAPipeWithItsSizeAndDataInOneTable() throws Exception {
        byte[] bytes = pattern(1000);
        Engine e = pipeEngine(new PipeData(PIPE, 131072, bytes),
                new Desc(5, O_RDONLY, fle(PID, 3)), new Desc(6, O_WRONLY, cloexecFle(PID, 4)));
        assertTimeoutPreemptively(LIMIT, e::run);

        assertEquals(1000, fionread(3), "FIONREAD on the read end");
        assertEquals(131072, table.fcntl(3, F_GETPIPE_SZ, 0), "pipe size");
        assertEquals(S_IFIFO, table.fstat(3).type());
        assertEquals(table.fstat(3).ino(), table.fstat(4).ino(), "both ends are one pipe");
        assertEquals(O_RDONLY, statusFlags(3));
        assertEquals(O_WRONLY, statusFlags(4));
        assertEquals(0, table.fcntl(3, F_GETFD, 0));
        assertEquals(FD_CLOEXEC, table.fcntl(4, F_GETFD, 0));
        assertEquals(00, fdinfoFlags(3) & ~O_LARGEFILE, "fdinfo flags of fd 3");
        assertEquals(02000001, fdinfoFlags(4) & ~O_LARGEFILE, "fdinfo flags of fd 4 (O_CLOEXEC folded in)");
        assertNoTemporaries();
        assertArrayEquals(bytes, readExactly(3, 1000), "the content read back");
    }

    @Test
    void aSecondReadDescriptionIsItsOwnDescriptionOfTheSamePipe() throws Exception {
        byte[] bytes = pattern(100);
        Engine e = pipeEngine(new PipeData(PIPE, 0, bytes), new Desc(1, O_RDONLY, fle(PID, 3), fle(PID, 7)),
                new Desc(2, O_WRONLY, fle(PID, 4)), new Desc(3, O_RDONLY | O_NONBLOCK, fle(PID, 5)));
        assertTimeoutPreemptively(LIMIT, e::run);

        long ino = table.fstat(3).ino();
        assertEquals(ino, table.fstat(4).ino());
        assertEquals(ino, table.fstat(5).ino());
        assertTrue(sameDescription(3, 7), "fd 7 is a slave of fd 3");
        assertTrue(!sameDescription(3, 5), "fd 5 was reopened: a description of its own");
        assertEquals(O_RDONLY, statusFlags(3));
        assertEquals(O_RDONLY | O_NONBLOCK, statusFlags(5));
        assertEquals(100, fionread(5));
        assertArrayEquals(bytes, readExactly(5, 100));
        assertEquals(0, fionread(3), "one pipe buffer: read through fd 5, gone for fd 3");
        assertEquals(-1, table.read(5, new byte[1], 0, 1), "empty, with a writer: EAGAIN on the non-blocking fd");
        assertNoTemporaries();
    }

    @Test
    void theUnusedWriteEndIsClosedSoTheReaderSeesEndOfFile() throws Exception {
        byte[] bytes = pattern(64);
        Engine e = pipeEngine(new PipeData(PIPE, 65536, bytes), new Desc(7, O_RDONLY | O_NONBLOCK, fle(PID, 3)));
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(64, fionread(3));
        assertEquals(O_RDONLY | O_NONBLOCK, statusFlags(3));
        assertArrayEquals(bytes, readExactly(3, 64));
        assertEquals(0, table.read(3, new byte[1], 0, 1), "no writer is left anywhere: end of file, not EAGAIN");
        assertNoTemporaries();
    }

    @Test
    void aWriteEndAloneKeepsItsDataAndItsNonBlockingFlag() throws Exception {
        Engine e = pipeEngine(new PipeData(PIPE, 0, pattern(10)), new Desc(8, O_WRONLY | O_NONBLOCK, cloexecFle(PID, 9)));
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(O_WRONLY | O_NONBLOCK, statusFlags(9));
        assertEquals(10, fionread(9), "FIONREAD works on either end");
        assertNoTemporaries();
    }

    // ---- fifos --------------------------------------------------------------------------------------

    private Engine fifoEngine(String path, Object[]... descs) throws RestoreException {
        Engine.Builder b = Engine.builder(transport).table(table).root(root);
        for (Object[] d : descs) {
            long id = (Long) d[0];
            int flags = (Integer) d[1];
            int fd = (Integer) d[2];
            PipeData data = (PipeData) d[3];
            b.file(info(id, FdType.FIFO, fifoEntry(id, PIPE, id + 1), fle(PID, fd)), "fifo",
                    new FifoRestorer(id, PIPE, path, flags, data));
        }
        return b.build();
    }

    @Test
    void aFifoWithThreeDescriptionsOpensWithoutBlockingAndKeepsItsData() throws Exception {
        Path fifo = mkfifo("tmp/criu-work/run/b.fifo");
        byte[] bytes = pattern(500);
        String path = "/tmp/criu-work/run/b.fifo";
        // b_fifo in one table; the blocking O_WRONLY open would hang without the fake O_RDWR open.
        Engine e = fifoEngine(path,
                new Object[] {5L, O_RDWR | O_LARGEFILE, 3, new PipeData(PIPE, 65536, bytes)},
                new Object[] {9L, O_WRONLY | O_LARGEFILE, 4, null},
                new Object[] {11L, O_RDONLY | O_NONBLOCK | O_LARGEFILE, 5, null});
        assertTimeoutPreemptively(LIMIT, e::run);

        long ino = (Long) Files.getAttribute(fifo, "unix:ino");
        for (int fd = 3; fd <= 5; fd++) {
            assertEquals(ino, table.fstat(fd).ino(), "fd " + fd + " is the fifo under --root");
        }
        assertTrue(!sameDescription(3, 4) && !sameDescription(4, 5), "three descriptions");
        assertEquals(0100002, fdinfoFlags(3));
        assertEquals(0100001, fdinfoFlags(4));
        assertEquals(0104000, fdinfoFlags(5));
        assertEquals(500, fionread(5));
        assertEquals(65536, table.fcntl(5, F_GETPIPE_SZ, 0));
        assertArrayEquals(bytes, readExactly(5, 500));
        assertNoTemporaries();
    }

    @Test
    void aLoneBlockingFifoReaderDoesNotBlock() throws Exception {
        mkfifo("run/lone.fifo");
        Engine e = fifoEngine("/run/lone.fifo", new Object[] {5L, O_RDONLY, 3, new PipeData(PIPE, 0, pattern(7))});
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(O_RDONLY, statusFlags(3));
        assertEquals(7, fionread(3), "the data survives the close of the fake fd: the reader holds the fifo open");
        table.fcntl(3, F_SETFL, O_NONBLOCK);
        assertArrayEquals(pattern(7), readExactly(3, 7));
        assertNoTemporaries();
    }

    @Test
    void aMissingFifoIsAClearErrorAndLeavesNothing() throws Exception {
        Engine e = fifoEngine("/run/absent.fifo", new Object[] {5L, O_RDONLY, 3, null});
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("/run/absent.fifo does not exist under root " + root), ex.getMessage());
        assertNoTemporaries();
    }

    @Test
    void aRegularFileWhereTheFifoShouldBeIsRefused() throws Exception {
        Path reg = root.resolve("run/plain");
        Files.createDirectories(reg.getParent());
        Files.write(reg, new byte[] {1, 2, 3});
        Engine e = fifoEngine("/run/plain", new Object[] {5L, O_WRONLY, 3, new PipeData(PIPE, 0, pattern(3))});
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("/run/plain") && ex.getMessage().contains("not a FIFO"), ex.getMessage());
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(reg), "user data untouched");
        assertNoTemporaries();
    }

    @Test
    void aFifoPathCannotEscapeTheRoot(@TempDir Path outside) throws Exception {
        Path escape = outside.resolve("escape.fifo");
        Process pr = new ProcessBuilder("mkfifo", escape.toString()).inheritIO().start();
        assertTrue(pr.waitFor(10, TimeUnit.SECONDS) && pr.exitValue() == 0);
        // An absolute symlink and a dot-dot path that would both reach the fifo outside the root.
        Files.createSymbolicLink(root.resolve("link.fifo"), escape);
        String dotdot = "/../../../../../.." + escape;
        for (String path : new String[] {"/link.fifo", dotdot}) {
            Engine e = fifoEngine(path, new Object[] {5L, O_RDONLY, 3, null});
            RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
            assertTrue(ex.getMessage().contains(path + " does not exist under root " + root), ex.getMessage());
            assertNoTemporaries();
        }
    }

    // ---- unlinked fifos (ghosts) --------------------------------------------------------------------

    /** The FIFO files of a zdtm entry of one task, planned under {@code root}, in an engine on the real table. */
    private Engine ghostEngine(String entry, int pid) throws Exception {
        ImageSet images = ImageSet.open(fdrestore.testkit.Samples.criu("zdtm/" + entry));
        PlanContext pc = Fixtures.planContext(images, root);
        FifoKind kind = new FifoKind();
        Engine.Builder b = Engine.builder(transport).table(table).root(root);
        for (FileInfo f : Fixtures.filesOfType(images, FdType.FIFO)) {
            List<FleInfo> fles = f.fles().stream().map(x -> new FleInfo(PID, x.fd(), x.cloexec())).toList();
            assertTrue(f.fles().stream().allMatch(x -> x.pid() == pid));
            b.file(new FileInfo(f.id(), f.type(), f.entry(), fles), kind.name(), kind.plan(f, pc));
        }
        return b.build();
    }

    private String link(int fd) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/self/task/" + table.tid() + "/fd/" + fd)).toString();
    }

    @Test
    void anUnlinkedFifoOpenedTwiceIsOneNodeRecreatedThenRemoved() throws Exception {
        // unlink_fifo_wronly: O_RDONLY|O_NONBLOCK (fd 4) and O_WRONLY (fd 5) of one unlinked fifo
        String dir = "tmp/zdtm2/run/unlink_fifo_wronly";
        Files.createDirectories(root.resolve(dir));
        Engine e = ghostEngine("unlink_fifo_wronly", 15358);
        assertTimeoutPreemptively(LIMIT, e::run);
        String path = root.toRealPath().resolve(dir) + "/unlink_fifo_wronly.test (deleted)";
        assertEquals(path, link(4));
        assertEquals(path, link(5));
        assertEquals(table.fstat(4).ino(), table.fstat(5).ino(), "one fifo");
        assertEquals(S_IFIFO | 0600, table.fstat(4).mode());
        assertEquals(O_RDONLY | O_NONBLOCK | 0100000, fdinfoFlags(4));
        assertEquals(O_WRONLY | 0100000, fdinfoFlags(5));
        assertFalse(Files.exists(root.resolve(dir + "/unlink_fifo_wronly.test"), LinkOption.NOFOLLOW_LINKS),
                "the node the restore made is removed again");
        assertNoTemporaries();
    }

    @Test
    void anUnlinkedFifoKeepsItsData() throws Exception {
        // fifo-ghost: the unlinked fifo holds 256 bytes; only its reader is left (fd 5)
        String dir = "tmp/zdtm2/run/fifo-ghost";
        Files.createDirectories(root.resolve(dir));
        Engine e = ghostEngine("fifo-ghost", 13029);
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(root.toRealPath().resolve(dir) + "/fifo-ghost.test (deleted)", link(5));
        assertEquals(256, fionread(5));
        assertFalse(Files.exists(root.resolve(dir + "/fifo-ghost.test"), LinkOption.NOFOLLOW_LINKS));
        assertNoTemporaries();
    }

    @Test
    void anUnlinkedFifoWhosePathIsTakenIsRefusedAndNothingIsRemoved() throws Exception {
        String dir = "tmp/zdtm2/run/fifo-ghost";
        Path taken = Files.createDirectories(root.resolve(dir)).resolve("fifo-ghost.test");
        Files.write(taken, new byte[] {7});
        PlanException ex = assertThrows(PlanException.class, () -> ghostEngine("fifo-ghost", 13029));
        assertTrue(ex.getMessage().contains("fifo-ghost.test") && ex.getMessage().contains("exists"), ex.getMessage());
        assertArrayEquals(new byte[] {7}, Files.readAllBytes(taken), "what is there is not touched");
    }

    @Test
    void aMissingDirectoryIsAClearErrorAndLeavesNothing() throws Exception {
        String dir = "tmp/zdtm2/run/unlink_fifo_wronly";
        Files.createDirectories(root.resolve(dir));
        Engine e = ghostEngine("unlink_fifo_wronly", 15358);
        Files.delete(root.resolve(dir)); // the directory went away after planning: nothing is made, nothing left
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("unlink_fifo_wronly.test") && ex.getMessage().contains("directory does not exist"),
                ex.getMessage());
        assertNoTemporaries();
    }

    /**
     * Issue 23 item 6: data above a default pipe's 64 KiB is not copied into a batch row: the pipe is made,
     * filled from the image in chunks, then handed on, its unused write end closed afterwards. 1 MiB less
     * a little in a 1 MiB pipe (the default /proc/sys/fs/pipe-max-size).
     */
    @Test
    void dataAboveADefaultPipeIsWrittenInChunksBeforeTheEndsAreHandedOn() throws Exception {
        int n = (1 << 20) - 100;
        byte[] bytes = new byte[n];
        new java.util.Random(23).nextBytes(bytes);
        Engine e = pipeEngine(new PipeData(PIPE, 1 << 20, bytes), new Desc(7, O_RDONLY | O_NONBLOCK, fle(PID, 3)));
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(n, fionread(3), "FIONREAD on the read end");
        assertEquals(1 << 20, table.fcntl(3, F_GETPIPE_SZ, 0), "pipe size");
        assertNoTemporaries();
        assertArrayEquals(bytes, readExactly(3, n), "the content read back");
        assertEquals(0, table.read(3, new byte[1], 0, 1), "the write end is closed: end of file");
    }
}
