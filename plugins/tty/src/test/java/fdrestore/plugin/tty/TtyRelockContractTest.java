package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

/**
 * The contract for a locked pty without slaves: its master locks it again (TIOCSPTLCK 1) before Done. The
 * successful restore is also checked by {@code TtyEngineTest.aLockedPtyWithoutSlavesIsLockedBeforeItsMasterIsDone}.
 */
class TtyRelockContractTest extends TtyContractTest {
    @Override
    protected List<Scenario> scenarios() {
        PtyImageSet lonely = new PtyImageSet();
        lonely.task(1, 0, 1, 1);
        lonely.fd(1, 3, lonely.master(PtyImageSet.info(0, true).setLocked(true).build()));
        return List.of(of("a locked pty without slaves is locked before its master is done", lonely).expect(x -> {
            assertTrue(devpts(x).isLocked(0));
            assertEquals("lock 0", devpts(x).events().get(devpts(x).events().size() - 1));
        }));
    }
}
