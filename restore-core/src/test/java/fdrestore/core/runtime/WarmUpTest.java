package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Executors are native-only: every op they run must have run once in the warm-up, which loads the classes
 * and links the stubs it touches. The list of ops is read from ExecutorCore's OP_ constants, not kept here.
 */
class WarmUpTest {
    /** ExecutorCore's ops, from its {@code static final int OP_*} fields. */
    static List<Field> ops() {
        List<Field> ops = new ArrayList<>();
        for (Field f : ExecutorCore.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (f.getName().startsWith("OP_") && f.getType() == int.class && Modifier.isStatic(m)
                    && Modifier.isFinal(m)) {
                ops.add(f);
            }
        }
        return ops;
    }

    @Test
    void theWarmUpRunsEveryExecutorOp() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            long run = TaskRuntime.warmUpInline(64) | TaskRuntime.warmUpExecutor(64);
            List<Field> ops = ops();
            assertTrue(ops.size() >= 30, "ExecutorCore's ops: " + ops.size());
            List<String> missed = new ArrayList<>();
            for (Field f : ops) {
                int op = f.getInt(null);
                assertTrue(op >= 0 && op < 64, f.getName() + " fits the warm-up's op mask: " + op);
                if ((run & (1L << op)) == 0) {
                    missed.add(f.getName());
                }
            }
            assertEquals(List.of(), missed, "ops the warm-up never runs");
        });
    }
}
