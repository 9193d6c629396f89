package fdrestore.plugin.regularfile;

import static fdrestore.plugin.regularfile.Fixtures.S_IFREG;
import static fdrestore.plugin.regularfile.Fixtures.info;
import static fdrestore.plugin.regularfile.Fixtures.reg;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;

import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FakeTaskTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mockito.AdditionalAnswers;

/**
 * Ghost files (deleted at dump time) on the fake table, with a real root directory in @TempDir. Ghosts
 * through the engine, and their cleanup after every injected fault, are in {@link RegularFileContractTest}.
 */
class GhostFileTest {
    private static final int FLOOR = 100;
    private static final byte[] CONTENT = "ghost content, 30 bytes long.\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path root;

    private final FakeKernel kernel = new FakeKernel();
    private final FakeTaskTable fake = kernel.table(1, FLOOR);
    private final Fixtures.Images images = new Fixtures.Images();
    private final RegularFileKind kind = new RegularFileKind();
    /** What the ghost's path held when the table opened it, per openat2 call. */
    private final List<byte[]> seenAtOpen = new ArrayList<>();
    private final List<Integer> modeAtOpen = new ArrayList<>();
    private TaskTable table;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(root.resolve("tmp/run"));
        table = mock(TaskTable.class, AdditionalAnswers.delegatesTo(fake));
        doAnswer(i -> {
            Path p = root.resolve((String) i.getArgument(1));
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                seenAtOpen.add(Files.readAllBytes(p));
                modeAtOpen.add((Integer) Files.getAttribute(p, "unix:mode"));
            } else {
                seenAtOpen.add(null);
            }
            return fake.openAt2(i.getArgument(0), i.getArgument(1), i.getArgument(2), i.getArgument(3),
                    i.getArgument(4));
        }).when(table).openAt2(anyInt(), anyString(), anyInt(), anyInt(), anyLong());
        fake.stat("tmp/run/v.data", new TaskTable.Stat(S_IFREG | 0640, CONTENT.length, 1, 2, 0));
    }

    private RegFileEntry ghostUser(int id, int flags, long pos) {
        RegFileEntry reg = reg(id, "/tmp/run/v.data", flags, pos).setSize(CONTENT.length).setMode(S_IFREG | 0640).build();
        images.add(reg, 1, 2 + id);
        images.remaps.add(Fixtures.remap(id, 1, Remaps.GHOST));
        return reg;
    }

    private RegularFileRestorer plan(RegFileEntry reg) throws PlanException {
        return (RegularFileRestorer) kind.plan(info(reg), Fixtures.planCtx(images.set, root, Map.of()));
    }

    private Path ghostPath() {
        return root.resolve("tmp/run/v.data");
    }

    @Test
    void ghostIsCreatedOpenedAndUnlinked() throws Exception {
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, CONTENT));
        RegFileEntry reg = ghostUser(5, Linux.O_RDWR | Linux.O_LARGEFILE, 21);
        RegularFileRestorer r = plan(reg);
        assertEquals(RegularFileRestorer.Route.GHOST_CREATOR, r.route());
        OpenResult res = r.open(new Fixtures.Ctx(info(reg), table, root));
        assertInstanceOf(OpenResult.Done.class, res, res::toString);
        FakeFile f = fake.file(res.newFd().orElseThrow());
        assertEquals("tmp/run/v.data", f.what());
        assertEquals(Linux.O_RDWR | Linux.O_LARGEFILE, f.flags());
        assertArrayEquals(CONTENT, seenAtOpen.get(0), "the ghost held its content when it was opened");
        assertEquals(0640, modeAtOpen.get(0) & 07777);
        assertTrue(f.log().stream().anyMatch(c -> c.contains(", 21, 0)")), f.log().toString());
        assertFalse(Files.exists(ghostPath(), LinkOption.NOFOLLOW_LINKS), "the ghost is unlinked again");
        assertEquals(List.of(res.newFd().getAsInt()), fake.temporaries());
    }

    @Test
    void chunkedGhostKeepsHolesAndSize() throws Exception {
        images.ghosts.put(1L, Fixtures.chunkedGhostImage(S_IFREG | 0640, CONTENT.length,
                new long[] {0, 20}, new byte[][] {Arrays.copyOfRange(CONTENT, 0, 5), Arrays.copyOfRange(CONTENT, 20, 25)}));
        RegFileEntry reg = ghostUser(5, Linux.O_RDONLY, 0);
        OpenResult res = plan(reg).open(new Fixtures.Ctx(info(reg), table, root));
        assertInstanceOf(OpenResult.Done.class, res, res::toString);
        byte[] want = new byte[CONTENT.length];
        System.arraycopy(CONTENT, 0, want, 0, 5);
        System.arraycopy(CONTENT, 20, want, 20, 5);
        assertArrayEquals(want, seenAtOpen.get(0));
    }

    @Test
    void holesStayHolesUpToTheRecordedSize() throws Exception {
        // ghost_holes00/02: a hole in the middle, at the head, and one up to the recorded size
        Path p = root.resolve("tmp/run/holes");
        byte[] block = new byte[4096];
        Arrays.fill(block, (byte) 'x');
        long size = 16 * 4096;
        GhostFile g = GhostFile.of(1, Fixtures.chunkedGhostImage(S_IFREG | 0600, size, new long[] {4096}, new byte[][] {block}));
        g.create(p);
        try {
            assertEquals(size, Files.size(p));
            Process stat = new ProcessBuilder("stat", "-c", "%b %B", p.toString()).start();
            String[] out = new String(stat.getInputStream().readAllBytes()).trim().split(" ");
            assertEquals(0, stat.waitFor());
            long allocated = Long.parseLong(out[0]) * Long.parseLong(out[1]);
            assertTrue(allocated < 2 * 4096, "only the data block is allocated, not the holes: " + allocated + " bytes");
        } finally {
            GhostFile.remove(p);
        }
    }

    @Test
    void ghostAttributesAreApplied() throws Exception {
        Path p = root.resolve("tmp/run/attr");
        GhostFile g = GhostFile.of(1, new fdrestore.api.image.codec.ImageFile(fdrestore.api.image.codec.Magic.GHOST_FILE,
                List.of(new fdrestore.api.image.codec.ImageEntry(fdrestore.api.image.proto.GhostFileEntry.newBuilder()
                        .setUid(0).setGid(0).setMode(S_IFREG | 0604)
                        .setMtim(fdrestore.api.image.proto.Timeval.newBuilder().setTvSec(1_700_000_000L).setTvUsec(5))
                        .build(), CONTENT))));
        g.create(p);
        assertEquals(0604, (Integer) Files.getAttribute(p, "unix:mode") & 07777);
        assertEquals(FileTime.from(java.time.Instant.ofEpochSecond(1_700_000_000L, 5000)), Files.getLastModifiedTime(p));
        assertArrayEquals(CONTENT, Files.readAllBytes(p));
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> g.create(p));
        assertArrayEquals(CONTENT, Files.readAllBytes(p), "a second create never touches the existing file");
        GhostFile.remove(p);
        assertFalse(Files.exists(p));
    }

    @Test
    void mismatchAfterCreationStillUnlinks() throws Exception {
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, CONTENT));
        RegFileEntry reg = ghostUser(5, Linux.O_RDWR, 0);
        fake.stat("tmp/run/v.data", new TaskTable.Stat(S_IFREG | 0640, 1, 1, 2, 0));
        OpenResult res = plan(reg).open(new Fixtures.Ctx(info(reg), table, root));
        assertInstanceOf(OpenResult.Fail.class, res);
        assertFalse(Files.exists(ghostPath(), LinkOption.NOFOLLOW_LINKS));
        assertEquals(List.of(), fake.temporaries());
    }

    @Test
    void anExistingFileAtTheGhostPathIsNeverTouched() throws Exception {
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, CONTENT));
        RegFileEntry reg = ghostUser(5, Linux.O_RDWR, 0);
        byte[] user = "user data".getBytes(StandardCharsets.US_ASCII);
        Files.write(ghostPath(), user);
        PlanException e = assertThrows(PlanException.class, () -> plan(reg));
        assertTrue(e.getMessage().contains("v.data") && e.getMessage().contains("exists"), e.getMessage());

        // Created between plan and open: open refuses and leaves it alone.
        Files.delete(ghostPath());
        RegularFileRestorer r = plan(reg);
        Files.write(ghostPath(), user);
        OpenResult res = r.open(new Fixtures.Ctx(info(reg), table, root));
        assertInstanceOf(OpenResult.Fail.class, res);
        assertArrayEquals(user, Files.readAllBytes(ghostPath()));
        assertEquals(List.of(), fake.temporaries());
        assertTrue(seenAtOpen.isEmpty(), "nothing was opened");
    }

    @Test
    void aGhostDirectoryOutsideTheRootIsRefused() throws Exception {
        Path outside = Files.createTempDirectory("fdr-outside");
        try {
            Files.createSymbolicLink(root.resolve("tmp/link"), outside);
            RegularFileException e = assertThrows(RegularFileException.class,
                    () -> RegularFileRestorer.ghostTarget(root, "/tmp/link/v.data"));
            assertTrue(e.getMessage().contains("outside the root"), e.getMessage());
            assertThrows(RegularFileException.class, () -> RegularFileRestorer.ghostTarget(root, "/../../etc/x"));
        } finally {
            Files.delete(outside);
        }
    }

    @Test
    void nonRegularGhostsAndSizeMismatchesFailThePlan() {
        images.ghosts.put(1L, Fixtures.ghostImage(Fixtures.S_IFDIR | 0700, new byte[0]));
        RegFileEntry reg = ghostUser(5, Linux.O_RDWR, 0);
        assertThrows(PlanException.class, () -> plan(reg));
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, new byte[3]));
        PlanException e = assertThrows(PlanException.class, () -> plan(reg));
        assertTrue(e.getMessage().contains("3 bytes") && e.getMessage().contains(String.valueOf(CONTENT.length)),
                e.getMessage());
    }

    @Test
    void sharersWaitForTheCreatorsHandOff() throws Exception {
        images.ghosts.put(1L, Fixtures.ghostImage(S_IFREG | 0640, CONTENT));
        RegFileEntry a = ghostUser(5, Linux.O_RDWR, 0);
        RegFileEntry b = ghostUser(6, Linux.O_RDONLY | Linux.O_CLOEXEC, 7);
        RegularFileRestorer ra = plan(a);
        RegularFileRestorer rb = plan(b);
        assertEquals(RegularFileRestorer.Route.GHOST_CREATOR, ra.route());
        assertEquals(List.of(new RegularFileRestorer.Peer(6, Linux.O_RDONLY)), ra.peers());
        assertEquals(RegularFileRestorer.Route.GHOST_SHARER, rb.route());
        assertEquals(5, rb.dependencies().get(0).fileId());

        Fixtures.Ctx cb = new Fixtures.Ctx(info(b), table, root);
        assertInstanceOf(OpenResult.Again.class, rb.open(cb));
        assertNotNull(cb.waiting);

        Fixtures.Ctx ca = new Fixtures.Ctx(info(a), table, root);
        assertInstanceOf(OpenResult.Done.class, ra.open(ca));
        List<Integer> handed = ca.handedOff.get(6L);
        assertEquals(1, handed.size());
        assertEquals(Linux.O_RDONLY, fake.file(handed.get(0)).flags());
        cb.inbox.add(handed.get(0));
        OpenResult res = rb.open(cb);
        assertEquals(OpenResult.done(handed.get(0)), res);
        assertTrue(fake.file(handed.get(0)).log().stream().anyMatch(c -> c.contains(", 7, 0)")));
        assertFalse(Files.exists(ghostPath(), LinkOption.NOFOLLOW_LINKS));
    }
}
