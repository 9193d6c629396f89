package fdrestore.plugin.regularfile;

import static fdrestore.plugin.regularfile.Fixtures.S_IFCHR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFDIR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFREG;
import static fdrestore.plugin.regularfile.Fixtures.reg;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Linux;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Integration: real private fd tables (the task runtime) and the real engine, single task, with a mocked
 * transport (nothing travels between tasks). Files are built in @TempDir; the results are read from
 * /proc/JVM/task/EXECUTOR/fd and fdinfo.
 */
class RegularFileRuntimeTest {
    private static final int PID = 1;
    private static final int FLOOR = 64;
    private static final byte[] GHOST = pattern(5000);

    @TempDir
    Path root;

    private final Fixtures.Images images = new Fixtures.Images();
    private final List<FileInfo> infos = new ArrayList<>();
    private final RegularFileKind kind = new RegularFileKind();
    private TaskRuntime runtime;
    private ExecutorTaskTable table;
    private Transport transport;

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('A' + i % 26);
        }
        return b;
    }

    @BeforeEach
    void setUp() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(PID, FLOOR);
        transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
        Path run = Files.createDirectories(root.resolve("tmp/run"));
        Files.write(run.resolve("shared.data"), pattern(4096));
        Files.write(run.resolve("app.log"), "17 bytes of log.\n".getBytes(StandardCharsets.US_ASCII));
        Files.write(run.resolve("pos.data"), pattern(5000));
        Files.setPosixFilePermissions(run.resolve("pos.data"), PosixFilePermissions.fromString("rw-r-----"));
    }

    @AfterEach
    void tearDown() {
        runtime.close();
    }

    private void add(RegFileEntry reg, FleInfo... fles) {
        images.add(reg, fles[0].pid(), fles[0].fd());
        infos.add(Fixtures.info(reg, fles));
    }

    private Engine engine() throws Exception {
        PlanContext ctx = Fixtures.planCtx(images.set, root, Map.of());
        Engine.Builder b = Engine.builder(transport).table(table).root(root);
        for (FileInfo i : infos) {
            b.file(i, "regular", kind.plan(i, ctx));
        }
        return b.build();
    }

    private void standardFiles() {
        int rw = Linux.O_RDWR | Linux.O_LARGEFILE;
        add(reg(1, "/tmp/run/shared.data", rw, 1234).setSize(4096).setMode(S_IFREG | 0644).build(),
                new FleInfo(PID, 3, false), new FleInfo(PID, 7, false));
        add(reg(2, "/tmp/run/app.log", Linux.O_WRONLY | Linux.O_APPEND | Linux.O_LARGEFILE, 17).build(),
                new FleInfo(PID, 5, true));
        add(reg(3, "/tmp/run/pos.data", Linux.O_RDONLY | Linux.O_LARGEFILE, 1234).setSize(5000)
                .setMode(S_IFREG | 0640).build(), new FleInfo(PID, 6, false));
        add(reg(4, "/tmp/run/ghost.data", rw, 4321).setSize(GHOST.length).setMode(S_IFREG | 0640).build(),
                new FleInfo(PID, 12, false));
        images.remaps.add(Fixtures.remap(4, 1, Remaps.GHOST));
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, GHOST));
        add(reg(5, "/dev/null", rw, 0).setMode(S_IFCHR | 0666).build(), new FleInfo(PID, 20, false));
        add(reg(6, "/tmp/run", Linux.O_LARGEFILE, 0).setMode(S_IFDIR | 0755).build(), new FleInfo(PID, 8, false));
        add(reg(7, "/tmp/run", Linux.O_LARGEFILE | Linux.O_DIRECTORY, 0).setMode(S_IFDIR | 0755).build(),
                new FleInfo(PID, 9, false));
    }

    private Path proc(String what, int fd) {
        return Path.of("/proc/" + ProcessHandle.current().pid() + "/task/" + table.tid() + "/" + what + "/" + fd);
    }

    private Map<String, String> fdinfo(int fd) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (String line : Files.readAllLines(proc("fdinfo", fd))) {
            int c = line.indexOf(':');
            if (c > 0) {
                m.put(line.substring(0, c).trim(), line.substring(c + 1).trim());
            }
        }
        return m;
    }

    private int flags(int fd) throws IOException {
        return Integer.parseInt(fdinfo(fd).get("flags"), 8);
    }

    private long pos(int fd) throws IOException {
        return Long.parseLong(fdinfo(fd).get("pos"));
    }

    private String link(int fd) throws IOException {
        return Files.readSymbolicLink(proc("fd", fd)).toString();
    }

    /** SHA-256 of every regular file under the root. */
    private Map<String, String> checksums() throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(root.relativize(p).toString(), HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }

    private List<Integer> temporaries() throws Exception {
        return Arrays.stream(table.listFds()).filter(fd -> fd >= FLOOR).boxed().toList();
    }

    @Test
    void restoresFlagsPositionsSharingAndTheGhost() throws Exception {
        standardFiles();
        Map<String, String> before = checksums();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run());

        String run = root.toRealPath().resolve("tmp/run").toString();
        assertEquals(run + "/shared.data", link(3));
        assertEquals(1234, pos(3));
        assertEquals(Linux.O_RDWR | Linux.O_LARGEFILE, flags(3));
        assertEquals(1234, pos(7));
        table.lseek(3, 99, Linux.SEEK_SET);
        assertEquals(99, pos(7), "fd 3 and fd 7 share one open file description (one offset)");

        assertEquals(run + "/app.log", link(5));
        assertEquals(Linux.O_WRONLY | Linux.O_APPEND | Linux.O_LARGEFILE | Linux.O_CLOEXEC, flags(5));
        assertEquals(17, pos(5));

        assertEquals(1234, pos(6));
        assertEquals(Linux.O_RDONLY | Linux.O_LARGEFILE, flags(6));

        assertEquals(run + "/ghost.data (deleted)", link(12));
        assertEquals(4321, pos(12));
        assertEquals(Linux.O_RDWR | Linux.O_LARGEFILE, flags(12));
        assertFalse(Files.exists(root.resolve("tmp/run/ghost.data"), LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(GHOST, Files.readAllBytes(proc("fd", 12)), "the ghost's content");

        assertEquals("/dev/null", link(20));
        assertEquals(run, link(8));
        assertEquals(Linux.O_LARGEFILE, flags(8), "a directory opened without O_DIRECTORY stays so (cwd00)");
        assertEquals(Linux.O_LARGEFILE | Linux.O_DIRECTORY, flags(9));

        assertEquals(List.of(), temporaries(), "no temporary fd is left in the task table");
        assertEquals(before, checksums(), "no user file changed");
    }

    @Test
    void aChangedFileAbortsTheRestoreWithoutTouchingAnything() throws Exception {
        standardFiles();
        Files.write(root.resolve("tmp/run/pos.data"), pattern(4999));
        Files.setPosixFilePermissions(root.resolve("tmp/run/pos.data"), PosixFilePermissions.fromString("rw-r-----"));
        Map<String, String> before = checksums();
        RestoreException e = assertThrows(RestoreException.class,
                () -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run()));
        assertTrue(e.getMessage().contains("/tmp/run/pos.data") && e.getMessage().contains("4999")
                && e.getMessage().contains("5000"), e.getMessage());
        assertEquals(List.of(), temporaries(), "the plugin left no temporary behind");
        assertFalse(Files.exists(root.resolve("tmp/run/ghost.data"), LinkOption.NOFOLLOW_LINKS),
                "the ghost created before the failure is unlinked");
        assertEquals(before, checksums(), "no user file changed");
    }

    @Test
    void aFifoNamedByARegularFileIsRefusedWithoutWaiting() throws Exception {
        // issue 23 item 5: opening a FIFO without a peer blocks for ever; the O_PATH open and fstat do not
        Path fifo = root.resolve("tmp/run/pipe");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, p.waitFor());
        add(reg(1, "/tmp/run/pipe", Linux.O_RDONLY, 0).build(), new FleInfo(PID, 3, false));
        add(reg(2, "/tmp/run/pipe", Linux.O_WRONLY, 0).setMode(S_IFREG | 0644).build(), new FleInfo(PID, 4, false));
        // Were the FIFO opened for real, its open would wait for ever: after 10 s a peer comes (an O_RDWR
        // open never waits), so that a broken restorer fails this test instead of hanging it.
        Thread peer = new Thread(() -> {
            try {
                Thread.sleep(10_000);
                new java.io.RandomAccessFile(fifo.toFile(), "rw").close();
            } catch (InterruptedException | IOException ignored) {
                // the restore ended first, as it should
            }
        });
        peer.setDaemon(true);
        peer.start();
        try {
            RestoreException e = assertThrows(RestoreException.class,
                    () -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run()));
            assertTrue(e.getMessage().contains("/tmp/run/pipe") && e.getMessage().contains("FIFO"), e.getMessage());
        } finally {
            peer.interrupt();
        }
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aRemovedDirectoryIsRecreatedOpenedAndRemoved() throws Exception {
        // cwd02: a directory removed while open, its ghost image holds the mode only
        int flags = Linux.O_LARGEFILE | Linux.O_DIRECTORY;
        add(reg(1, "/tmp/run/gone.d", flags, 0).setMode(S_IFDIR | 0700).build(), new FleInfo(PID, 7, false));
        images.remaps.add(Fixtures.remap(1, 1, Remaps.GHOST));
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFDIR | 0700, null));
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run());
        String run = root.toRealPath().resolve("tmp/run").toString();
        assertEquals(run + "/gone.d (deleted)", link(7));
        assertEquals(flags, flags(7));
        assertFalse(Files.exists(root.resolve("tmp/run/gone.d"), LinkOption.NOFOLLOW_LINKS), "removed again");
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aLinkedRemapOpensTheOriginalNameThenRemovesIt() throws Exception {
        // unlink_fstat03 (criu --link-remap): the link file criu made stays, the name the restore made goes
        Files.write(root.resolve("tmp/run/link_remap.9"), pattern(1000));
        add(reg(1, "/tmp/run/orig.test", Linux.O_WRONLY | Linux.O_LARGEFILE, 1000).setSize(1000)
                .setMode(S_IFREG | 0644).build(), new FleInfo(PID, 4, false));
        images.add(reg(2, "/tmp/run/link_remap.9", 0, 0).build(), 0, 0);
        images.remaps.add(Fixtures.remap(1, 2, Remaps.LINKED));
        Files.setPosixFilePermissions(root.resolve("tmp/run/link_remap.9"), PosixFilePermissions.fromString("rw-r--r--"));
        Map<String, String> before = checksums();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run());
        String run = root.toRealPath().resolve("tmp/run").toString();
        assertEquals(run + "/orig.test (deleted)", link(4));
        assertEquals(1000, pos(4));
        assertEquals(Linux.O_WRONLY | Linux.O_LARGEFILE, flags(4));
        assertFalse(Files.exists(root.resolve("tmp/run/orig.test"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(before, checksums(), "the link file stays, unchanged");
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aMissingFileFailsWithItsPath() throws Exception {
        add(reg(1, "/tmp/run/nope", Linux.O_RDONLY, 0).build(), new FleInfo(PID, 3, false));
        RestoreException e = assertThrows(RestoreException.class,
                () -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run()));
        assertTrue(e.getMessage().contains("/tmp/run/nope") && e.getMessage().contains("ENOENT"), e.getMessage());
        assertEquals(List.of(), temporaries());
    }

    @Test
    void pathsCannotEscapeTheRoot() throws Exception {
        Path outside = Files.createTempFile("fdr-outside", ".data");
        try {
            Files.createSymbolicLink(root.resolve("tmp/run/escape"), outside);
            // An absolute symlink resolves inside the root (RESOLVE_IN_ROOT), where the target does not exist.
            add(reg(1, "/tmp/run/escape", Linux.O_RDONLY, 0).build(), new FleInfo(PID, 3, false));
            RestoreException e = assertThrows(RestoreException.class,
                    () -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine().run()));
            assertTrue(e.getMessage().contains("/tmp/run/escape"), e.getMessage());
        } finally {
            Files.deleteIfExists(outside);
        }
    }
}
