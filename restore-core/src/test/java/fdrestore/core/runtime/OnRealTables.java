package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import fdrestore.api.sys.SysException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;

/**
 * The fixture of a test on real executor tables: a {@link TaskRuntime} per test, warmed up once and closed
 * after each test with every table it started, temporaries at {@link #FLOOR} and up, and a preemptive bound
 * for each body ({@link #within}).
 */
public abstract class OnRealTables {
    /** The temporary fd floor of the tables these tests start. */
    protected static final int FLOOR = 1000;

    protected final TaskRuntime runtime = new TaskRuntime();

    @BeforeAll
    static void warm() throws SysException {
        TaskRuntime.warmUp();
    }

    @AfterEach
    void closeAll() {
        runtime.close();
    }

    /** Runs {@code body} under a preemptive 30 s timeout: a deadlock fails the test instead of hanging it. */
    protected static void within(Executable body) {
        assertTimeoutPreemptively(Duration.ofSeconds(30), body);
    }
}
