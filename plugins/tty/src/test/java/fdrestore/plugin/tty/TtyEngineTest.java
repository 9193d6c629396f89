package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tty plugin driven by the engine over fake tables with a pretend devpts ({@link FakeDevpts}), for
 * what the contract ({@link TtyContractTest}) does not cover: restorers built with other limits, errors
 * no injected EIO makes, the per-restore plan state, and a locked pty without slaves.
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
