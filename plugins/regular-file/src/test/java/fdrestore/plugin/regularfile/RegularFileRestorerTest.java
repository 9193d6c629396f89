package fdrestore.plugin.regularfile;

import static fdrestore.plugin.regularfile.Fixtures.S_IFCHR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFDIR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFREG;
import static fdrestore.plugin.regularfile.Fixtures.info;
import static fdrestore.plugin.regularfile.Fixtures.reg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FakeTaskTable;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Unit tests of planning and opening regular files, on the testkit's fake fd table: the routes, the checks
 * of what the root holds and the errors no injected fault makes. The open sequences and the rollback of
 * every failing call are in {@link RegularFileContractTest}.
 */
class RegularFileRestorerTest {
    private static final Path ROOT = Paths.get("/srv/restore-root");
    private static final int FLOOR = 100;

    private final FakeKernel kernel = new FakeKernel();
    private final FakeTaskTable table = kernel.table(1, FLOOR);
    private final Fixtures.Images images = new Fixtures.Images();
    private final Map<String, String> options = new HashMap<>();
    private final RegularFileKind kind = new RegularFileKind();

    private RegularFileRestorer plan(RegFileEntry reg) throws PlanException {
        images.add(reg, 1, 3);
        return (RegularFileRestorer) kind.plan(info(reg), Fixtures.planCtx(images.set, ROOT, options));
    }

    private OpenResult open(RegularFileRestorer r, RegFileEntry reg) {
        return r.open(new Fixtures.Ctx(info(reg), table, ROOT));
    }

    private FakeFile opened(OpenResult res) {
        assertInstanceOf(OpenResult.Done.class, res, () -> "expected Done, got " + res);
        int fd = res.newFd().orElseThrow();
        assertEquals(List.of(fd), table.temporaries(), "only the reported fd is left open");
        return table.file(fd);
    }

    private static String failure(OpenResult res) {
        assertInstanceOf(OpenResult.Fail.class, res, () -> "expected Fail, got " + res);
        return ((OpenResult.Fail) res).cause().getMessage();
    }

    @Test
    void kindClaimsRegOnly() {
        assertEquals("regular", kind.name());
        assertEquals(java.util.Set.of(fdrestore.api.image.FdType.REG), kind.fdTypes());
    }

    @Test
    void flagsLoseCreateTruncTmpfileAndCloexec() {
        int img = Linux.O_RDWR | Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_CLOEXEC | Linux.O_APPEND
                | Linux.O_LARGEFILE | Linux.O_NONBLOCK;
        assertEquals(Linux.O_RDWR | Linux.O_APPEND | Linux.O_LARGEFILE | Linux.O_NONBLOCK, OpenFlags.forOpen(img));
        assertEquals(Linux.O_RDWR, OpenFlags.forOpen(Linux.O_RDWR | Linux.O_TMPFILE));
        assertEquals(Linux.O_RDWR, OpenFlags.forOpen(Linux.O_RDWR | OpenFlags.O_TMPFILE_BIT));
        assertEquals(Linux.O_LARGEFILE, OpenFlags.forOpen(Linux.O_LARGEFILE), "a directory gains no O_DIRECTORY");
        assertEquals(Linux.O_PATH, OpenFlags.forOpen(Linux.O_PATH));
    }

    @Test
    void theFirstOpenIsOPathKeepingWhatDecidesWhatThePathMayName() {
        assertEquals(Linux.O_PATH, OpenFlags.forPath(Linux.O_RDWR | Linux.O_APPEND | Linux.O_LARGEFILE));
        assertEquals(Linux.O_PATH | Linux.O_NOFOLLOW | Linux.O_DIRECTORY,
                OpenFlags.forPath(Linux.O_NOFOLLOW | Linux.O_DIRECTORY | Linux.O_NONBLOCK));
    }

    @Test
    void aDevicePathWithoutARecordedModeResolvesOnTheHost() throws Exception {
        assertEquals(RegularFileRestorer.Route.HOST, plan(reg(9, "/dev/zero", Linux.O_RDWR, 0).build()).route(),
                "no recorded mode: the path decides");
    }

    @Test
    void aPtyNamedByARegularFileIsNeverTheHosts() throws Exception {
        assertEquals(RegularFileRestorer.Route.ROOT, plan(reg(9, "/dev/pts/0", Linux.O_RDWR, 0).build()).route(),
                "another process's terminal must not be opened on the host");
        assertEquals(RegularFileRestorer.Route.ROOT,
                plan(reg(10, "/dev/ptmx", Linux.O_RDWR, 0).setMode(S_IFCHR | 0666).build()).route());
    }

    @Test
    void otherPathsUnderDevResolveUnderTheRoot() throws Exception {
        assertEquals(RegularFileRestorer.Route.ROOT,
                plan(reg(4, "/dev/null", Linux.O_RDWR, 0).setMode(S_IFREG | 0644).build()).route(),
                "a regular file named /dev/null is the root's");
        assertEquals(RegularFileRestorer.Route.ROOT,
                plan(reg(5, "/dev/kvm", Linux.O_RDWR, 0).setMode(S_IFCHR | 0660).build()).route());
        assertEquals(RegularFileRestorer.Route.ROOT,
                plan(reg(6, "/dev/pts/x", Linux.O_RDWR, 0).setMode(S_IFCHR | 0620).build()).route());
        assertEquals(RegularFileRestorer.Route.HOST,
                plan(reg(7, "/dev/urandom", 0, 0).setMode(S_IFCHR | 0666).build()).route());
    }

    @Test
    void espipeIsIgnoredForHostDevicesOnly() throws Exception {
        RegFileEntry tty = reg(4, "/dev/tty", Linux.O_RDWR, 10).setMode(S_IFCHR | 0666).build();
        table.stat("/dev/tty", new TaskTable.Stat(S_IFCHR | 0666, 0, 5, 4, 0x500));
        table.failOn("lseek", 1, Errno.ESPIPE);
        opened(open(plan(tty), tty));

        FakeTaskTable t2 = kernel.table(2, FLOOR);
        t2.failOn("lseek", 1, Errno.ESPIPE);
        RegFileEntry reg = reg(5, "/a", Linux.O_RDWR, 10).build();
        OpenResult res = plan(reg).open(new Fixtures.Ctx(info(reg), t2, ROOT));
        String msg = failure(res);
        assertTrue(msg.contains("/a") && msg.contains("lseek"), msg);
        assertEquals(List.of(), t2.temporaries());
    }

    @Test
    void sizeMismatchFailsNamingPathAndBothSizes() throws Exception {
        RegFileEntry reg = reg(5, "/tmp/g.data", Linux.O_RDWR, 0).setSize(4096).setMode(S_IFREG | 0644).build();
        table.stat("tmp/g.data", new TaskTable.Stat(S_IFREG | 0644, 100, 1, 2, 0));
        String msg = failure(open(plan(reg), reg));
        assertTrue(msg.contains("/tmp/g.data") && msg.contains("4096") && msg.contains("size is 100"), msg);
        assertEquals(List.of(), table.temporaries());
    }

    @Test
    void modeMismatchFailsNamingPathAndBothModes() throws Exception {
        RegFileEntry reg = reg(5, "/tmp/g.data", Linux.O_RDWR, 0).setSize(10).setMode(S_IFREG | 0644).build();
        table.stat("tmp/g.data", new TaskTable.Stat(S_IFREG | 0600, 10, 1, 2, 0));
        String msg = failure(open(plan(reg), reg));
        assertTrue(msg.contains("/tmp/g.data") && msg.contains("0100644") && msg.contains("0100600"), msg);
        assertEquals(List.of(), table.temporaries());

        FakeTaskTable t2 = kernel.table(2, FLOOR);
        t2.stat("tmp/g.data", new TaskTable.Stat(S_IFDIR | 0644, 10, 1, 2, 0));
        msg = failure(plan(reg).open(new Fixtures.Ctx(info(reg), t2, ROOT)));
        assertTrue(msg.contains("040644"), "a type change is a mismatch: " + msg);
        assertEquals(List.of(), t2.temporaries());
    }

    @Test
    void hostDevicesAreCheckedForTypeOnly() throws Exception {
        RegFileEntry nul = reg(4, "/dev/null", Linux.O_RDWR, 0).setMode(S_IFCHR | 0666).build();
        table.stat("/dev/null", new TaskTable.Stat(S_IFCHR | 0600, 0, 5, 4, 0x103));
        opened(open(plan(nul), nul));
        FakeTaskTable t2 = kernel.table(2, FLOOR);
        t2.stat("/dev/null", new TaskTable.Stat(S_IFREG | 0666, 0, 5, 4, 0));
        String msg = failure(plan(nul).open(new Fixtures.Ctx(info(nul), t2, ROOT)));
        assertTrue(msg.contains("/dev/null") && msg.contains("020000") && msg.contains("0100000"), msg);
        assertEquals(List.of(), t2.temporaries());
    }

    @Test
    void aFifoOrASocketIsRefusedBeforeAnyRealOpen() throws Exception {
        // issue 23 item 5: a real open of a FIFO waits for a peer for ever; only the O_PATH open happens
        RegFileEntry reg = reg(5, "/tmp/f", Linux.O_RDONLY, 0).build();
        table.stat("tmp/f", new TaskTable.Stat(Fixtures.S_IFIFO | 0644, 0, 1, 2, 0));
        String msg = failure(open(plan(reg), reg));
        assertTrue(msg.contains("/tmp/f") && msg.contains("is a FIFO") && msg.contains("010644"), msg);
        assertTrue(table.calls().stream().noneMatch(c -> c.startsWith("open(/proc/thread-self")), table.calls().toString());
        assertTrue(table.calls().stream().anyMatch(c -> c.startsWith("openat2(") && c.contains(", 0" 
                + Integer.toOctalString(Linux.O_PATH) + ",")), table.calls().toString());
        assertEquals(List.of(), table.temporaries());

        FakeTaskTable t2 = kernel.table(2, FLOOR);
        t2.stat("tmp/f", new TaskTable.Stat(0140755, 0, 1, 2, 0));
        msg = failure(plan(reg).open(new Fixtures.Ctx(info(reg), t2, ROOT)));
        assertTrue(msg.contains("is a socket"), msg);
        assertEquals(List.of(), t2.temporaries());
    }

    @Test
    void aDirectoryIsOpenedWithTheImagesFlagsAndCheckedByFstat() throws Exception {
        RegFileEntry dir = reg(5, "/tmp/d", Linux.O_LARGEFILE, 0).setMode(S_IFDIR | 0755).build();
        table.stat("tmp/d", new TaskTable.Stat(S_IFDIR | 0755, 4096, 1, 2, 0));
        FakeFile f = opened(open(plan(dir), dir));
        assertEquals(Linux.O_LARGEFILE, f.flags(), "no O_DIRECTORY the image does not have");

        FakeTaskTable t2 = kernel.table(2, FLOOR);
        t2.stat("tmp/d", new TaskTable.Stat(S_IFREG | 0755, 4096, 1, 2, 0));
        String msg = failure(plan(dir).open(new Fixtures.Ctx(info(dir), t2, ROOT)));
        assertTrue(msg.contains("/tmp/d") && msg.contains("040755") && msg.contains("0100755"), msg);
        assertTrue(t2.calls().stream().noneMatch(c -> c.startsWith("open(/proc/thread-self")), t2.calls().toString());
        assertEquals(List.of(), t2.temporaries());
    }

    @Test
    void aFailedReopenClosesThePathFd() throws Exception {
        RegFileEntry reg = reg(5, "/tmp/r", Linux.O_RDWR, 7).build();
        table.failOn("open", 2, Errno.EACCES); // the 1st open is the root's, the 2nd the reopen
        String msg = failure(open(plan(reg), reg));
        assertTrue(msg.contains("/tmp/r") && msg.contains("EACCES"), msg);
        assertEquals(List.of(), table.openFds());
    }

    @Test
    void openFailureNamesThePathAndLeavesNothing() throws Exception {
        table.failOn("openat2", 1, Errno.ENOENT);
        RegFileEntry reg = reg(5, "/tmp/gone", Linux.O_RDONLY, 0).build();
        String msg = failure(open(plan(reg), reg));
        assertTrue(msg.contains("/tmp/gone") && msg.contains("ENOENT") && msg.contains(ROOT.toString()), msg);
        assertEquals(List.of(), table.temporaries(), "the root fd is closed too");
        assertEquals(List.of(), table.openFds());
    }

    private ImageSet.Task task(int pid, int... fdsAndFiles) {
        List<ImageSet.Fd> fds = new java.util.ArrayList<>();
        for (int i = 0; i < fdsAndFiles.length; i += 2) {
            fds.add(new ImageSet.Fd(fdsAndFiles[i], 0, fdsAndFiles[i + 1], FdType.REG.code(), FdType.REG, "fdinfo-1.img", 0));
        }
        return new ImageSet.Task(pid, 0, pid, pid, List.of(pid), 1, fds, "t", null);
    }

    @Test
    void anOwnerOfTheTreeIsSetOnceItsPidIsKnown() throws Exception {
        images.task(100, 100);
        RegFileEntry reg = reg(5, "/f", Linux.O_RDWR, 0).setFown(Fixtures.fown(29, 1, 100)).build();
        FakeFile f = opened(open(plan(reg), reg));
        assertEquals(1, f.log().size(), "only F_SETSIG when opened; the owner comes later: " + f.log());
        List<ProcessAction> actions = kind.processActions(task(1, 3, 5), Fixtures.planCtx(images.set, ROOT, options));
        assertEquals(List.of(new ProcessAction.Owner(3, 100, false)), actions, "set by the first holder, task 1");
        assertEquals(List.of(), kind.processActions(task(100, 3, 5), Fixtures.planCtx(images.set, ROOT, options)),
                "once, by the first holder only");
        RegFileEntry grp = reg(7, "/g", Linux.O_RDWR, 0).setFown(Fixtures.fown(0, 2, 100)).build();
        images.add(grp, 100, 4);
        assertEquals(List.of(new ProcessAction.Owner(4, 100, true)),
                kind.processActions(task(100, 4, 7), Fixtures.planCtx(images.set, ROOT, options)));

        options.put(RegularFileKind.FOWN_OPTION, "ignore");
        assertEquals(List.of(), kind.processActions(task(1, 3, 5), Fixtures.planCtx(images.set, ROOT, options)));
        options.put(RegularFileKind.FOWN_OPTION, "bogus");
        assertThrows(PlanException.class, () -> plan(reg));
    }

    @Test
    void anOwnerThatIsAThreadOrNotATaskOfTheTreeIsRefused() {
        images.task(100, 100);
        RegFileEntry tid = reg(6, "/t", Linux.O_RDWR, 0).setFown(Fixtures.fown(0, 0, 100)).build();
        PlanException e = assertThrows(PlanException.class, () -> plan(tid));
        assertTrue(e.getMessage().contains("/t") && e.getMessage().contains("F_OWNER_TID")
                && e.getMessage().contains(RegularFileKind.FOWN_OPTION), e.getMessage());
        images.tasks.set(0, new ImageSet.Task(100, 0, 100, 100, List.of(100, 102), 1, List.of(), "t", null));
        RegFileEntry thread = reg(8, "/h", Linux.O_RDWR, 0).setFown(Fixtures.fown(0, 1, 102)).build();
        e = assertThrows(PlanException.class, () -> plan(thread));
        assertTrue(e.getMessage().contains("not one of its tasks"), e.getMessage());
    }

    private List<ProcessAction> locks(ImageSet.Task t, FileLockEntry... entries) throws Exception {
        org.mockito.Mockito.when(images.set.entries(Magic.FILE_LOCKS, FileLockEntry.class)).thenReturn(List.of(entries));
        return kind.processActions(t, Fixtures.planCtx(images.set, ROOT, options));
    }

    private static FileLockEntry lock(int flag, int type, int pid, int fd, long start, long len) {
        return FileLockEntry.newBuilder().setFlag(flag).setType(type).setPid(pid).setFd(fd).setStart(start).setLen(len)
                .build();
    }

    @Test
    void eachLockIsTakenByTheTaskThatHeldIt() throws Exception {
        ImageSet.Task t = task(100, 3, 5, 4, 6);
        assertEquals(List.of(new ProcessAction.FileLock(3, 1, 0, 0, 0), new ProcessAction.FileLock(4, 8, 1, 0, 0),
                        new ProcessAction.FileLock(3, 4, 1, 10, 20)),
                locks(t, lock(1, 0, 100, 3, 0, 0), lock(2, 1, 101, 3, 0, 0), lock(8, 1, 100, 4, 0, 0),
                        lock(4, 1, 100, 3, 10, 20)), "the other task's lock is its own");
    }

    @Test
    void locksThatCannotBeTakenAgainAreRefusedNamingTheEntry() throws Exception {
        ImageSet.Task t = task(100, 3, 5);
        Map<FileLockEntry, String> bad = Map.of(
                lock(1, 0, 100, 9, 0, 0), "no such fd",
                lock(8, 5, 100, 3, 0, 0), "being broken",
                lock(2, 96, 100, 3, 0, 0), "LOCK_MAND",
                lock(1, 2, 100, 3, 0, 0), "neither F_RDLCK",
                lock(16, 0, 100, 3, 0, 0), "unknown lock kind",
                lock(2, 1, 100, 3, 4, 0), "range");
        for (Map.Entry<FileLockEntry, String> b : bad.entrySet()) {
            PlanException e = assertThrows(PlanException.class, () -> locks(t, b.getKey()), b.getValue());
            assertTrue(e.getMessage().contains(b.getValue()) && e.getMessage().contains("filelocks.img entry 0")
                    && e.getMessage().contains("task 100 fd " + b.getKey().getFd()), e.getMessage());
        }
        ImageSet.Task pipe = new ImageSet.Task(100, 0, 100, 100, List.of(100), 1, List.of(new ImageSet.Fd(3, 0, 5,
                FdType.PIPE.code(), FdType.PIPE, "fdinfo-1.img", 0)), "t", null);
        PlanException e = assertThrows(PlanException.class, () -> locks(pipe, lock(2, 1, 100, 3, 0, 0)));
        assertTrue(e.getMessage().contains("PIPE"), e.getMessage());
    }

    @Test
    void legacyRemapIdsAndUnsupportedRemaps() throws Exception {
        Remaps r = Remaps.fromEntries(List.of(
                fdrestore.api.image.proto.RemapFilePathEntry.newBuilder().setOrigId(5).setRemapId(0x80000003).build(),
                fdrestore.api.image.proto.RemapFilePathEntry.newBuilder().setOrigId(6).setRemapId(7).build()));
        assertEquals(new Remaps.Remap(5, 3, Remaps.GHOST), r.of(5));
        assertEquals(new Remaps.Remap(6, 7, Remaps.LINKED), r.of(6));

        images.remaps.add(Fixtures.remap(5, 9, Remaps.PROCFS));
        PlanException e = assertThrows(PlanException.class, () -> plan(reg(5, "/proc/77", 0, 0).build()));
        assertTrue(e.getMessage().contains("PROCFS") && e.getMessage().contains("/proc/77"), e.getMessage());
    }

    @Test
    void missingLinkOrGhostFailsThePlan() {
        images.remaps.add(Fixtures.remap(5, 20, Remaps.LINKED));
        images.remaps.add(Fixtures.remap(6, 21, Remaps.GHOST));
        assertThrows(PlanException.class, () -> plan(reg(5, "/a", 0, 0).build()));
        PlanException e = assertThrows(PlanException.class, () -> plan(reg(6, "/b", 0, 0).build()));
        assertTrue(e.getMessage().contains("ghost-file-15.img"), e.getMessage()); // remap id 21, in hex
    }

    @Test
    void aFileEntryWithoutRegIsRefused() {
        FileInfo bad = new FileInfo(5, fdrestore.api.image.FdType.REG,
                fdrestore.api.image.proto.FileEntry.newBuilder().setType(1).setId(5).build(),
                List.of(new fdrestore.api.spi.FleInfo(1, 3, false)));
        assertThrows(PlanException.class, () -> kind.plan(bad, Fixtures.planCtx(images.set, ROOT, options)));
        assertFalse(RegularFileRestorer.relative("/a//b").startsWith("/"));
        assertEquals(".", RegularFileRestorer.relative("//"));
        assertEquals("a/b", RegularFileRestorer.relative("a/b"));
    }
}
