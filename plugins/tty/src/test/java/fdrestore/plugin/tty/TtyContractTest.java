package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FileKindContractTest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The file-kind contract for ptys, over fake tables with a pretend devpts ({@link FakeDevpts}): slaves
 * after their master, the ptmx index retry, the unlock/lock order, the data replay; every failure closes
 * what it opened and leaves the plugin-wide ptmx lock free. A locked pty without slaves is in
 * {@link TtyRelockContractTest}.
 */
class TtyContractTest extends FileKindContractTest {
    @Override
    protected FileKind kind() {
        return new TtyKind();
    }

    /** The fake kernel's tables seen through a pretend devpts. */
    static final class Devpts implements Environment {
        final FakeDevpts devpts;
        /** Whether the plugin-wide lock was held at each open of /dev/ptmx. */
        final List<Boolean> lockHeld = Collections.synchronizedList(new ArrayList<>());

        Devpts(FakeKernel kernel, int... takenByOthers) {
            devpts = new FakeDevpts(kernel).takenByOthers(takenByOthers);
            devpts.onPtmxOpen(() -> lockHeld.add(PtmxAllocator.lock().isHeldByCurrentThread()));
        }

        @Override
        public TaskTable table(int pid, int floor) {
            return devpts.table(pid, floor);
        }

        @Override
        public Transport transport() {
            return devpts.transport();
        }
    }

    @Override
    protected Environment environment(FakeKernel kernel) {
        return new Devpts(kernel);
    }

    static FakeDevpts devpts(Restore x) {
        return ((Devpts) x.environment()).devpts;
    }

    private static int indexOf(List<String> events, String prefix) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith(prefix)) {
                return i;
            }
        }
        throw new AssertionError("no event starting with '" + prefix + "' in " + events);
    }

    /** The dependencies the kind plans for file {@code id} of the restored images. */
    private static List<Dependency> dependencies(ImageSet images, long id) throws Exception {
        FileInfo f = PtyImageSet.filesOfType(images, FdType.TTY).stream().filter(i -> i.id() == id).findFirst().orElseThrow();
        return new TtyKind().plan(f, PtyImageSet.planContext(images, Map.of())).dependencies();
    }

    /** A scenario on a devpts where {@code takenByOthers} are in use; after any failure the ptmx lock is free. */
    static Scenario of(String name, PtyImageSet images, int... takenByOthers) {
        return Scenario.of(name, images::write).environment(k -> new Devpts(k, takenByOthers)).onFault(f ->
                assertFalse(PtmxAllocator.lock().isLocked(), "the ptmx lock is free after EIO in " + f.call()));
    }

    @Override
    protected List<Scenario> scenarios() {
        // The slave's task (5) has a lower pid than the master's (10): the engine must still wait.
        PtyImageSet order = new PtyImageSet();
        order.task(5, 0, 5, 5).task(10, 5, 10, 10);
        TtyInfoEntry si = PtyImageSet.info(0, false).build();
        long om = order.master(PtyImageSet.info(0, true).build());
        long oa = order.slave(si);
        long ob = order.slave(si);
        order.fd(10, 3, om).fd(5, 0, oa).fd(5, 1, oa).fd(10, 4, ob);

        PtyImageSet retry = new PtyImageSet();
        retry.task(1, 0, 1, 1);
        retry.fd(1, 3, retry.master(PtyImageSet.info(4, true).build())).fd(1, 4, retry.slave(PtyImageSet.info(4, false).build()));

        PtyImageSet any = new PtyImageSet();
        any.task(1, 0, 1, 1).task(2, 1, 1, 1);
        long anyM = any.master(PtyImageSet.info(1, true).build());
        any.fd(1, 3, anyM).fd(2, 0, any.slave(PtyImageSet.info(1, false).build()))
                .fd(2, 1, any.slave(PtyImageSet.info(1, false).build()));
        any.data(3, "out".getBytes());

        PtyImageSet locked = new PtyImageSet();
        locked.task(1, 0, 1, 1).task(2, 1, 1, 1).task(3, 1, 1, 1);
        long lm = locked.master(PtyImageSet.info(0, true).setLocked(true).build());
        TtyInfoEntry lsi = PtyImageSet.info(0, false).setLocked(true).build();
        locked.fd(2, 3, lm).fd(1, 0, locked.slave(lsi)).fd(3, 7, locked.slave(lsi));

        PtyImageSet replay = new PtyImageSet();
        replay.task(1, 0, 1, 1);
        replay.fd(1, 3, replay.master(PtyImageSet.info(0, true).build())).fd(1, 4, replay.slave(PtyImageSet.info(0, false).build()));
        replay.data(1, "to-master".getBytes()).data(0, "ab".getBytes());

        PtyImageSet pair = new PtyImageSet();
        pair.task(1, 0, 1, 1);
        long ps = pair.slave(PtyImageSet.info(0, false).build());
        pair.fd(1, 3, pair.master(PtyImageSet.info(0, true).build())).fd(1, 4, ps);

        return List.of(
                of("slaves open after their master, each its own description", order).expect(x -> {
                    assertEquals(List.of(Dependency.beforeOpen(om, Stage.RESTORED, "a pty slave opens after its master")),
                            dependencies(x.images(), oa));
                    List<String> ev = devpts(x).events();
                    assertTrue(indexOf(ev, "unlock 0") < indexOf(ev, "slave 0 opened in task 5"), ev.toString());
                    assertTrue(indexOf(ev, "unlock 0") < indexOf(ev, "slave 0 opened in task 10"), ev.toString());
                    assertTrue(ev.stream().filter(e -> e.startsWith("slave 0 opened")).allMatch(e -> e.endsWith("O_NOCTTY")),
                            ev.toString());
                    assertFalse(ev.stream().anyMatch(e -> e.startsWith("lock ")), "an unlocked pty stays unlocked: " + ev);
                    assertEquals("/dev/ptmx", x.file(10, 3).what());
                    assertEquals("/dev/pts/0", x.file(10, 4).what());
                }),
                of("ptmx reopened until the image's index, spares closed", retry, 0, 2).expect(x -> {
                    List<String> ev = devpts(x).events();
                    assertEquals(List.of("ptmx 1 opened in task 1", "ptmx 3 opened in task 1", "ptmx 4 opened in task 1",
                            "ptmx 1 closed", "ptmx 3 closed", "unlock 4"), ev.subList(0, 6), ev.toString());
                    assertEquals(List.of(true, true, true), ((Devpts) x.environment()).lockHeld,
                            "every ptmx open runs under the plugin-wide lock");
                    assertFalse(PtmxAllocator.lock().isLocked());
                    assertEquals(List.of(0, 2, 4), devpts(x).takenIndices(), "the spare indices are free again");
                    assertEquals("/dev/pts/4", x.file(1, 4).what());
                }),
                of("pty-any-index takes another index, the slaves follow", any, 1)
                        .option(PtyMaster.ANY_INDEX_OPTION, "true").expect(x -> {
                    assertEquals(List.of(1, 2), devpts(x).takenIndices(), "index 0 tried and given back, 2 kept");
                    assertEquals("/dev/pts/2", x.file(2, 0).what());
                    assertEquals("/dev/pts/2", x.file(2, 1).what());
                    assertTrue(devpts(x).events().contains("write /dev/pts/2 out"), devpts(x).events().toString());
                }),
                of("a locked pty is relocked after every slave opened", locked).expect(x -> {
                    List<Dependency> deps = dependencies(x.images(), lm);
                    assertEquals(2, deps.size());
                    assertTrue(deps.stream().allMatch(d -> !d.gatesOpen() && d.stage() == Stage.RESTORED), deps.toString());
                    List<String> ev = devpts(x).events();
                    int unlock = indexOf(ev, "unlock 0");
                    int lock = indexOf(ev, "lock 0");
                    assertTrue(unlock < indexOf(ev, "slave 0 opened in task 1"), ev.toString());
                    assertTrue(indexOf(ev, "slave 0 opened in task 1") < lock, ev.toString());
                    assertTrue(indexOf(ev, "slave 0 opened in task 3") < lock, ev.toString());
                    assertEquals(ev.size() - 1, lock, "locking is the last pty event: " + ev);
                    assertTrue(devpts(x).isLocked(0));
                }),
                of("queued data replayed with the right termios, then the image's", replay).expect(x -> {
                    Termios image = PtyImageSet.defaultTermios();
                    List<String> ev = new ArrayList<>(devpts(x).events());
                    ev.removeIf(e -> e.startsWith("ptmx") || e.startsWith("slave"));
                    assertEquals(List.of("unlock 0",
                            "TCSETS " + image.forMasterInputReplay(), "write /dev/pts/0 to-master",
                            "TCSETS " + image.forSlaveInputReplay(), "TIOCSTI a", "TIOCSTI b",
                            "TCSETS " + image), ev);
                    assertFalse(image.forSlaveInputReplay().toString().equals(image.toString()));
                }),
                of("a master and its slave in one task", pair).onFault(f -> {
                    if (f.fileId() == ps && f.call().startsWith("fstat(")) {
                        assertTrue(f.mentions("pty slave /dev/pts/0"), f.error().getMessage());
                        // The slave's fd was closed by the plugin; the master, placed at its target, is the runtime's to close.
                        assertEquals(Map.of(), f.engine().ownedTemporaries());
                        assertEquals(List.of(3), f.kernel().table(1).openFds());
                    }
                }));
    }
}
