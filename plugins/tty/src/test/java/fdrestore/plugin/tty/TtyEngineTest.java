package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.engine.Stage;
import fdrestore.core.image.FdType;
import fdrestore.core.image.ImageSet;
import fdrestore.core.image.proto.TtyInfoEntry;
import fdrestore.core.spi.Dependency;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.FileRestorer;
import fdrestore.core.spi.PlanContext;
import fdrestore.testkit.FakeKernel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tty plugin driven by the engine over fake tables with a pretend devpts ({@link FakeDevpts}): the
 * dependency order (slaves after their master), the ptmx index retry, the unlock/lock order, the data
 * replay and the cleanup on failure.
 */
class TtyEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final FakeKernel kernel = new FakeKernel();
    private final FakeDevpts devpts = new FakeDevpts(kernel);
    private final TtyKind kind = new TtyKind();

    private Engine engine(ImageSet images, Map<String, String> options, int... pids) throws Exception {
        return engine(images, options, null, pids);
    }

    /** Plans every tty file with the kind (or {@code override} when it answers non-null) and builds the engine. */
    private Engine engine(ImageSet images, Map<String, String> options, Function<FileInfo, FileRestorer> override,
                          int... pids) throws Exception {
        PlanContext ctx = PtyImageSet.planContext(images, options);
        Engine.Builder b = Engine.builder(devpts.transport());
        for (int pid : pids) {
            b.table(devpts.table(pid, 1000));
        }
        options.forEach(b::option);
        for (FileInfo f : PtyImageSet.filesOfType(images, FdType.TTY)) {
            FileRestorer r = override == null ? null : override.apply(f);
            b.file(f, "tty", r != null ? r : kind.plan(f, ctx));
        }
        return b.build();
    }

    private static int indexOf(List<String> events, String prefix) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith(prefix)) {
                return i;
            }
        }
        throw new AssertionError("no event starting with '" + prefix + "' in " + events);
    }

    private void assertNoTemporaries(int... pids) {
        for (int pid : pids) {
            assertEquals(List.of(), devpts.fake(pid).temporaries(), "temporaries left in task " + pid);
        }
    }

    @Test
    void slavesOpenAfterTheirMasterIsRestoredEachAsItsOwnDescription() throws Exception {
        // The slave's task (5) has a lower pid than the master's (10): the engine must still wait.
        PtyImageSet s = new PtyImageSet();
        s.task(5, 0, 5, 5).task(10, 5, 10, 10);
        TtyInfoEntry mi = PtyImageSet.info(0, true).build();
        TtyInfoEntry si = PtyImageSet.info(0, false).build();
        long m = s.master(mi);
        long a = s.slave(si);
        long b = s.slave(si);
        s.fd(10, 3, m).fd(5, 0, a).fd(5, 1, a).fd(10, 4, b);
        ImageSet images = ImageSet.open(s.write(dir));

        FileInfo slaveInfo = PtyImageSet.filesOfType(images, FdType.TTY).stream().filter(f -> f.id() == a).findFirst().orElseThrow();
        assertEquals(List.of(Dependency.beforeOpen(m, Stage.RESTORED, "a pty slave opens after its master")),
                kind.plan(slaveInfo, PtyImageSet.planContext(images, Map.of())).dependencies());

        Engine e = engine(images, Map.of(), 5, 10);
        assertTimeoutPreemptively(LIMIT, e::run);
        List<String> ev = devpts.events();
        assertTrue(indexOf(ev, "unlock 0") < indexOf(ev, "slave 0 opened in task 5"), ev.toString());
        assertTrue(indexOf(ev, "unlock 0") < indexOf(ev, "slave 0 opened in task 10"), ev.toString());
        assertTrue(ev.stream().filter(x -> x.startsWith("slave 0 opened")).allMatch(x -> x.endsWith("O_NOCTTY")), ev.toString());
        assertFalse(ev.stream().anyMatch(x -> x.startsWith("lock ")), "an unlocked pty stays unlocked: " + ev);
        assertEquals(Stage.RESTORED, e.stageOf(5, 0));
        assertEquals(Stage.RESTORED, e.stageOf(10, 4));
        assertSame(devpts.fake(5).file(0), devpts.fake(5).file(1), "one slave file is one description");
        assertNotSame(devpts.fake(5).file(0), devpts.fake(10).file(4), "two slave files are two opens");
        assertEquals("/dev/ptmx", devpts.fake(10).file(3).what());
        assertEquals("/dev/pts/0", devpts.fake(10).file(4).what());
        assertNoTemporaries(5, 10);
    }

    @Test
    void ptmxIsReopenedUntilTheImageIndexAndTheSpareOpensAreClosed() throws Exception {
        devpts.takenByOthers(0, 2);
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(4, true).build());
        long sl = s.slave(PtyImageSet.info(4, false).build());
        s.fd(1, 3, m).fd(1, 4, sl);
        Engine e = engine(ImageSet.open(s.write(dir)), Map.of(), 1);
        List<Boolean> lockHeld = new ArrayList<>();
        devpts.onPtmxOpen(() -> lockHeld.add(PtmxAllocator.lock().isHeldByCurrentThread()));

        assertTimeoutPreemptively(LIMIT, e::run);
        List<String> ev = devpts.events();
        assertEquals(List.of("ptmx 1 opened in task 1", "ptmx 3 opened in task 1", "ptmx 4 opened in task 1",
                "ptmx 1 closed", "ptmx 3 closed", "unlock 4"), ev.subList(0, 6), ev.toString());
        assertEquals(List.of(true, true, true), lockHeld, "every ptmx open runs under the plugin-wide lock");
        assertFalse(PtmxAllocator.lock().isLocked());
        assertEquals(List.of(0, 2, 4), devpts.takenIndices(), "the spare indices are free again");
        assertEquals("/dev/pts/4", devpts.fake(1).file(4).what());
        assertNoTemporaries(1);
    }

    @Test
    void aTakenIndexFailsNamingItAndLeavesNothingOpen() throws Exception {
        devpts.takenByOthers(1);
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(1, true).build());
        long sl = s.slave(PtyImageSet.info(1, false).build());
        s.fd(1, 3, m).fd(1, 4, sl);
        ImageSet images = ImageSet.open(s.write(dir));
        Engine e = engine(images, Map.of(), f -> f.id() == m ? master(images, f, i -> "held by pid 4242 (sshd) fd 0", 256) : null, 1);

        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        String msg = x.getMessage();
        assertTrue(msg.contains("pty index 1 is taken on this host"), msg);
        assertTrue(msg.contains("gave index 2"), msg);
        assertTrue(msg.contains("held by pid 4242 (sshd) fd 0"), msg);
        assertTrue(msg.contains("pty-any-index=true"), msg);
        assertTrue(msg.contains("/dev/ptmx"), msg);
        assertEquals(List.of(1), devpts.takenIndices(), "the opens of 0 and 2 were closed");
        assertEquals(List.of(), devpts.fake(1).openFds());
    }

    @Test
    void ptyAnyIndexTakesAnotherIndexAndTheSlavesFollow() throws Exception {
        devpts.takenByOthers(1);
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 1, 1);
        long m = s.master(PtyImageSet.info(1, true).build());
        long sl = s.slave(PtyImageSet.info(1, false).build());
        long sl2 = s.slave(PtyImageSet.info(1, false).build());
        s.fd(1, 3, m).fd(2, 0, sl).fd(2, 1, sl2);
        s.data(3, "out".getBytes());
        Engine e = engine(ImageSet.open(s.write(dir)), Map.of(PtyMaster.ANY_INDEX_OPTION, "true"), 1, 2);

        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(List.of(1, 2), devpts.takenIndices(), "index 0 tried and given back, 2 kept");
        assertEquals("/dev/pts/2", devpts.fake(2).file(0).what());
        assertEquals("/dev/pts/2", devpts.fake(2).file(1).what());
        assertTrue(devpts.events().contains("write /dev/pts/2 out"), devpts.events().toString());
        assertNoTemporaries(1, 2);
    }

    @Test
    void theNumberOfOpensIsBounded() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(40, true).build());
        s.fd(1, 3, m);
        ImageSet images = ImageSet.open(s.write(dir));
        Engine e = engine(images, Map.of(), f -> master(images, f, i -> "", 8), 1);

        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("pty index 40 not reached after 8 opens of /dev/ptmx (the last gave index 7)"),
                x.getMessage());
        assertEquals(List.of(), devpts.takenIndices());
        assertEquals(List.of(), devpts.fake(1).openFds());
    }

    private static FileRestorer master(ImageSet images, FileInfo f, java.util.function.IntFunction<String> holders, int tries) {
        try {
            TtyImages ti = TtyImages.of(images);
            TtyImages.TtyFile tf = ti.file(f.id());
            return new PtyMaster(ti.pty(tf.index()), new PtyState(tf.index()), holders, tries);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aLockedPtyIsRelockedOnlyAfterEverySlaveOpened() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 1, 1).task(3, 1, 1, 1);
        long m = s.master(PtyImageSet.info(0, true).setLocked(true).build());
        TtyInfoEntry si = PtyImageSet.info(0, false).setLocked(true).build();
        long a = s.slave(si);
        long b = s.slave(si);
        s.fd(2, 3, m).fd(1, 0, a).fd(3, 7, b);
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());
        FileInfo mi = PtyImageSet.filesOfType(images, FdType.TTY).stream().filter(f -> f.id() == m).findFirst().orElseThrow();
        List<Dependency> deps = kind.plan(mi, ctx).dependencies();
        assertEquals(2, deps.size());
        assertTrue(deps.stream().allMatch(d -> !d.gatesOpen() && d.stage() == Stage.RESTORED), deps.toString());

        Engine e = engine(images, Map.of(), 1, 2, 3);
        assertTimeoutPreemptively(LIMIT, e::run);
        List<String> ev = devpts.events();
        int unlock = indexOf(ev, "unlock 0");
        int lock = indexOf(ev, "lock 0");
        assertTrue(unlock < indexOf(ev, "slave 0 opened in task 1"), ev.toString());
        assertTrue(indexOf(ev, "slave 0 opened in task 1") < lock, ev.toString());
        assertTrue(indexOf(ev, "slave 0 opened in task 3") < lock, ev.toString());
        assertEquals(ev.size() - 1, lock, "locking is the last pty event: " + ev);
        assertTrue(devpts.isLocked(0));
        assertEquals(Stage.RESTORED, e.stageOf(2, 3));
        assertNoTemporaries(1, 2, 3);
    }

    @Test
    void aLockedPtyWithoutSlavesIsLockedBeforeItsMasterIsDone() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(0, true).setLocked(true).build());
        s.fd(1, 3, m);
        Engine e = engine(ImageSet.open(s.write(dir)), Map.of(), 1);
        assertTimeoutPreemptively(LIMIT, e::run);
        assertTrue(devpts.isLocked(0));
        assertEquals("lock 0", devpts.events().get(devpts.events().size() - 1));
    }

    @Test
    void queuedDataIsReplayedThroughASlaveWithTheRightTermiosThenTheImageTermios() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(0, true).build());
        long sl = s.slave(PtyImageSet.info(0, false).build());
        s.fd(1, 3, m).fd(1, 4, sl);
        s.data(1, "to-master".getBytes()).data(0, "ab".getBytes());
        Engine e = engine(ImageSet.open(s.write(dir)), Map.of(), 1);
        assertTimeoutPreemptively(LIMIT, e::run);

        Termios image = PtyImageSet.defaultTermios();
        List<String> ev = new ArrayList<>(devpts.events());
        ev.removeIf(x -> x.startsWith("ptmx") || x.startsWith("slave"));
        assertEquals(List.of("unlock 0",
                "TCSETS " + image.forMasterInputReplay(), "write /dev/pts/0 to-master",
                "TCSETS " + image.forSlaveInputReplay(), "TIOCSTI a", "TIOCSTI b",
                "TCSETS " + image), ev);
        assertFalse(image.forSlaveInputReplay().toString().equals(image.toString()));
        assertNoTemporaries(1);
    }

    @Test
    void aFailingSlaveOpenAbortsAndClosesEverything() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(0, true).build());
        long sl = s.slave(PtyImageSet.info(0, false).build());
        s.fd(1, 3, m).fd(1, 4, sl);
        Engine e = engine(ImageSet.open(s.write(dir)), Map.of(), 1);
        devpts.fake(1).failOn("fstat", 1, fdrestore.core.sys.Errno.EIO);
        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("pty slave /dev/pts/0"), x.getMessage());
        assertTrue(x.getMessage().contains("EIO"), x.getMessage());
        // The slave's fd was closed by the plugin; the master, placed at its target, is the runtime's to close.
        assertNoTemporaries(1);
        assertEquals(Map.of(), e.ownedTemporaries());
        assertEquals(List.of(3), devpts.fake(1).openFds());
    }

    @Test
    void aSlavePlannedApartFromItsMasterRefusesToGuessTheIndex() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long m = s.master(PtyImageSet.info(0, true).build());
        long sl = s.slave(PtyImageSet.info(0, false).build());
        s.fd(1, 3, m).fd(1, 4, sl);
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext other = PtyImageSet.planContext(images, Map.of());
        Engine e = engine(images, Map.of(), f -> f.id() == sl ? plan(f, other) : null, 1);
        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("its master has not recorded the index it got"), x.getMessage());
        assertFalse(devpts.events().stream().anyMatch(ev -> ev.startsWith("slave 0 opened")), devpts.events().toString());
    }

    private FileRestorer plan(FileInfo f, PlanContext ctx) {
        try {
            return kind.plan(f, ctx);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void planStateIsPerRestore() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        s.fd(1, 3, s.master(PtyImageSet.info(0, true).build()));
        ImageSet images = ImageSet.open(s.write(dir));
        Map<String, String> none = new HashMap<>();
        PlanContext a = PtyImageSet.planContext(images, none);
        PlanContext b = PtyImageSet.planContext(images, none);
        assertSame(TtyKind.state(a, 0), TtyKind.state(a, 0));
        assertNotSame(TtyKind.state(a, 0), TtyKind.state(b, 0));
    }
}
