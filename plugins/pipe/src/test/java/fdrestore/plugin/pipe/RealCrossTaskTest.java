package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.FIONREAD;
import static fdrestore.api.sys.Linux.F_GETPIPE_SZ;
import static fdrestore.api.sys.Linux.S_IFIFO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.testkit.RealKernel;
import fdrestore.testkit.Samples;
import fdrestore.testkit.TestPlanContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real CRIU 4.2 samples restored across several real task tables with the real SCM_RIGHTS transport,
 * then compared with the kernel's view: every pipe/fifo fd of {@code expected.norm} has the recorded
 * flags (fdinfo, O_CLOEXEC folded in), fds with one {@code pipe#K} label share an inode and different
 * labels do not, and the queued bytes, their content and the pipe sizes are back.
 *
 * <p>The tables, the transport and the engine are the testkit's {@link RealKernel}.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealCrossTaskTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final Pattern PID_LINE = Pattern.compile("^PID (\\d+) .*");
    private static final Pattern FD_LINE = Pattern.compile("^  fd (\\d+) -> (\\S+) \\| pos: \\d+ ; flags: (0\\d*)$");

    @TempDir
    Path root;

    private RealKernel kernel;

    @BeforeEach
    void start() throws Exception {
        kernel = RealKernel.open();
    }

    @AfterEach
    void stop() throws Exception {
        kernel.close();
    }

    /**
     * Restores every file of {@code type} with {@code kind} over one real table per task (the testkit's
     * harness: it fails on a temporary left in a table); returns those files.
     */
    private List<FileInfo> restore(ImageSet images, FdType type, FileKind kind, Path rootDir) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            kernel.restore(TestPlanContext.of(images).root(rootDir), kind);
        });
        return Fixtures.filesOfType(images, type);
    }

    private int fdinfoFlags(int pid, int fd) throws Exception {
        Path p = Path.of("/proc/self/task/" + kernel.tid(pid) + "/fdinfo/" + fd);
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        throw new AssertionError("no flags in " + p);
    }

    private int fionread(int pid, int fd) throws Exception {
        byte[] buf = new byte[4];
        kernel.table(pid).ioctl(fd, FIONREAD, buf);
        return ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private byte[] readExactly(int pid, int fd, int n) throws Exception {
        byte[] out = new byte[n];
        int off = 0;
        while (off < n) {
            int got = kernel.table(pid).read(fd, out, off, n - off);
            assertTrue(got > 0, "read returned " + got);
            off += got;
        }
        return out;
    }

    private boolean sameDescription(int pid1, int fd1, int pid2, int fd2) throws Exception {
        return kernel.sameFile(pid1, fd1, pid2, fd2);
    }

    /**
     * Compares every fd of expected.norm whose target matches {@code targets} with the restored tables:
     * fdinfo flags, and inode identity per label. Returns the number of fds checked.
     */
    private int compareWithExpected(Path sample, Pattern targets) throws Exception {
        int pid = -1;
        int checked = 0;
        Map<String, Long> inoByLabel = new HashMap<>();
        Map<Long, String> labelByIno = new HashMap<>();
        for (String line : Files.readAllLines(sample.resolve("expected.norm"))) {
            Matcher pm = PID_LINE.matcher(line);
            if (pm.matches()) {
                pid = Integer.parseInt(pm.group(1));
                continue;
            }
            Matcher fm = FD_LINE.matcher(line);
            if (!fm.matches() || !targets.matcher(fm.group(2)).matches()) {
                continue;
            }
            int fd = Integer.parseInt(fm.group(1));
            String label = fm.group(2);
            int want = Integer.parseInt(fm.group(3), 8);
            assertEquals(Integer.toOctalString(want), Integer.toOctalString(fdinfoFlags(pid, fd)),
                    "flags of task " + pid + " fd " + fd);
            assertEquals(S_IFIFO, kernel.table(pid).fstat(fd).type(), "task " + pid + " fd " + fd);
            long ino = kernel.table(pid).fstat(fd).ino();
            Long seen = inoByLabel.putIfAbsent(label, ino);
            assertEquals(seen == null ? ino : seen, ino, "task " + pid + " fd " + fd + " is " + label);
            String other = labelByIno.putIfAbsent(ino, label);
            assertEquals(other == null ? label : other, label, "two labels on one inode at task " + pid + " fd " + fd);
            checked++;
        }
        return checked;
    }

    private static Map<Long, byte[]> data(ImageSet images, Magic magic) throws Exception {
        Map<Long, byte[]> out = new HashMap<>();
        for (ImageEntry e : images.image(magic).entries()) {
            out.put(Integer.toUnsignedLong(e.message(PipeDataEntry.class).getPipeId()), e.payload());
        }
        return out;
    }

    @Test
    void aPipeFourTasksTwoPipes() throws Exception {
        Path sample = Samples.criu("a_pipe");
        ImageSet images = ImageSet.open(sample);
        restore(images, FdType.PIPE, new PipeKind(), Path.of("/"));

        assertEquals(14, compareWithExpected(sample, Pattern.compile("pipe#\\d+")));
        assertTrue(sameDescription(30508, 3, 30514, 3) && sameDescription(30508, 3, 30513, 100));
        assertTrue(sameDescription(30508, 4, 30513, 101));
        assertTrue(!sameDescription(30508, 3, 30508, 4));
        Map<Long, byte[]> data = data(images, Magic.PIPES_DATA);
        assertEquals(1000, fionread(30513, 100));
        assertEquals(64, fionread(30513, 5));
        assertEquals(131072, kernel.table(30512).fcntl(3, F_GETPIPE_SZ, 0));
        assertArrayEquals(data.get(421542L), readExactly(30514, 3, 1000), "pipe P's content");
        assertArrayEquals(data.get(421543L), readExactly(30512, 5, 64), "pipe Q's content");
        assertEquals(0, fionread(30508, 3));
    }

    @Test
    void bFifoTwoTasksThreeDescriptions() throws Exception {
        Path sample = Samples.criu("b_fifo");
        Path fifo = root.resolve("tmp/criu-work/run/b.fifo");
        Files.createDirectories(fifo.getParent());
        Process pr = new ProcessBuilder("mkfifo", "-m", "600", fifo.toString()).inheritIO().start();
        assertTrue(pr.waitFor(10, TimeUnit.SECONDS) && pr.exitValue() == 0);
        ImageSet images = ImageSet.open(sample);
        restore(images, FdType.FIFO, new FifoKind(), root);

        assertEquals(4, compareWithExpected(sample, Pattern.compile("/tmp/criu-work/run/b\\.fifo")));
        long ino = (Long) Files.getAttribute(fifo, "unix:ino");
        assertEquals(ino, kernel.table(4532).fstat(4).ino(), "the fifo under --root");
        assertTrue(sameDescription(4530, 3, 4532, 3), "fd 3 shared by both tasks");
        assertTrue(!sameDescription(4532, 3, 4532, 4) && !sameDescription(4532, 4, 4532, 5));
        assertEquals(500, fionread(4530, 3));
        assertArrayEquals(data(images, Magic.FIFO_DATA).get(2156375L), readExactly(4532, 5, 500));
    }

    @Test
    void big32TasksShareThirtyOnePipes() throws Exception {
        Path sample = Samples.criu("big_32x64_shared_flat");
        ImageSet images = ImageSet.open(sample);
        List<FileInfo> files = restore(images, FdType.PIPE, new PipeKind(), Path.of("/"));
        assertEquals(62, files.size());
        assertEquals(32 * 62, compareWithExpected(sample, Pattern.compile("pipe#\\d+")));
        int rootPid = images.root().pid();
        for (ImageSet.Task t : images.tasks()) {
            for (int fd = 3; fd <= 64; fd++) {
                assertTrue(sameDescription(rootPid, fd, t.pid(), fd), t + " fd " + fd);
            }
        }
        for (int fd = 3; fd <= 63; fd += 2) {
            assertEquals(16, fionread(rootPid, fd), "fd " + fd);
        }
        assertArrayEquals("0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                readExactly(images.tasks().get(5).pid(), 33, 16));
        assertNotEquals(kernel.table(rootPid).fstat(3).ino(), kernel.table(rootPid).fstat(5).ino());
    }
}
