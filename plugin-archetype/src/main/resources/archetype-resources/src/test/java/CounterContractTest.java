package ${package};

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import java.util.List;

/**
 * The testkit's contract test: each scenario is restored through the real engine on a fake kernel (every
 * fd at its number with its flags, one description per file, no temporary left), and an EIO injected into
 * each syscall the kind makes, one at a time, must fail the restore naming the task and fd, leaving
 * nothing behind.
 */
class CounterContractTest extends FileKindContractTest {
    static final int O_RDWR = 2;

    @Override
    protected FileKind kind() {
        return new CounterKind();
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        long seven = v.eventfd(O_RDWR | CounterKind.EFD_NONBLOCK, 7);
        long zero = v.eventfd(O_RDWR, 0);
        v.fd(1, 5, seven).fd(2, 5, seven).fd(1, 6, zero, true);
        return List.of(Scenario.of("a shared counter and a zero one", v).expect(x -> {
            assertEquals(List.of("eventfd2(0, 2048)", "write(100, 8 bytes)"), x.callsOf(seven));
            assertTrue(x.file(2, 5).log().contains("write(100, 8 bytes) [7, 0, 0, 0, 0, 0, 0, 0]"), x.file(2, 5).log().toString());
            assertEquals(List.of("eventfd2(0, 0)"), x.callsOf(zero), "a zero counter needs no write");
        }));
    }
}
