package fdrestore.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.RestoreException;
import org.junit.jupiter.api.Test;

/** Issue 23 item 7: a task count the host cannot take is refused before anything starts, naming the limit. */
class CapacityTest {
    @Test
    void fitsUnderEveryLimit() {
        assertNull(Capacity.problem(1000, 400, 32768, 190000, -1, 65530, 600));
    }

    @Test
    void eachLimitIsNamedWithItsFigures() {
        // 20,000 tasks: 40,000 pids do not fit under the default pid_max
        String pid = Capacity.problem(20000, 400, 32768, 190000, -1, 65530, 600);
        assertTrue(pid.contains("40000 pids") && pid.contains("kernel.pid_max 32768 leaves 32368"), pid);
        String threads = Capacity.problem(5000, 400, 4194304, 9000, -1, 65530, 600);
        assertTrue(threads.contains("kernel.threads-max 9000 leaves 8600"), threads);
        String nproc = Capacity.problem(600, 400, 4194304, 190000, 1024, 65530, 600);
        assertTrue(nproc.contains("RLIMIT_NPROC (ulimit -u) is 1024"), nproc);
        String maps = Capacity.problem(15000, 400, 4194304, 190000, -1, 30000, 600);
        assertTrue(maps.contains("vm.max_map_count 30000 leaves 29400"), maps);
    }

    @Test
    void anUnknownLimitIsNotChecked() {
        assertNull(Capacity.problem(20000, -1, -1, -1, -1, -1, -1));
    }

    @Test
    void thisHostRefusesASetTooBigForItWithOneLine() {
        long supported = Capacity.supported();
        assertTrue(supported > 0, "this host takes some tasks: " + supported);
        RestoreException e = assertThrows(RestoreException.class, () -> Capacity.check((int) Math.min(
                Integer.MAX_VALUE, supported * 2 + 10)));
        assertTrue(e.getMessage().startsWith("the image set has "), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
    }

    @Test
    void aTaskWithTooManyFdsOrAnFdNoProcessCanHoldIsRefused() {
        assertNull(Capacity.fdProblem(7, 65536, 70000, 65536, 1048576));
        String many = Capacity.fdProblem(7, 1_000_000, 999_999, 65536, 1048576);
        assertEquals("task 7 has 1000000 fds, more than --max-fds-per-task 65536 (raise it to restore a task this large)",
                many);
        String at = Capacity.fdProblem(7, 1, 1048576, 65536, 1048576);
        assertTrue(at.startsWith("task 7 fd 1048576: at or past RLIMIT_NOFILE's hard limit 1048576"), at);
        String past = Capacity.fdProblem(7, 1, Integer.MAX_VALUE, 65536, 1048576);
        assertTrue(past.startsWith("task 7 fd 2147483647: at or past"), past);
        String near = Capacity.fdProblem(7, 1, 1048576 - 10, 65536, 1048576);
        assertTrue(near.startsWith("task 7 fd 1048566: within 256 fds (the restore's temporary fds) of RLIMIT_NOFILE's"),
                near);
        assertNull(Capacity.fdProblem(7, 1, 1048576 - 257, 65536, 1048576));
        assertNull(Capacity.fdProblem(7, 1, Integer.MAX_VALUE, 65536, -1), "an unknown limit is not checked");
    }
}
