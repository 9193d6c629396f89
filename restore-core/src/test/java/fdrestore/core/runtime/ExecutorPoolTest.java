package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ExecutorPool} on real executor threads: a kept executor serves the next table, its table empty;
 * a closed table cannot reach it; the pool ends executors it does not keep, and ends idle ones after
 * their time or when it stops.
 */
class ExecutorPoolTest extends OnRealTables {
    @AfterEach
    void stop() {
        runtime.close();
        ExecutorPool.stop();
        waitUntil(() -> ExecutorPool.idle() == 0, "the idle executors end when the pool stops");
    }

    private static void waitUntil(java.util.function.BooleanSupplier done, String what) {
        long until = System.nanoTime() + 10_000_000_000L;
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "within 10 s: " + what);
            LockSupport.parkNanos(1_000_000L);
        }
    }

    private static boolean threadExists(int tid) {
        return Files.exists(Path.of("/proc/self/task/" + tid));
    }

    @Test
    void aKeptExecutorServesTheNextTableWithNothingOfTheLastOneOpen() {
        within(() -> {
            ExecutorPool.keep(4, Duration.ofSeconds(30));
            ExecutorTaskTable first = runtime.start(1, FLOOR);
            int tid = first.tid();
            int[] pipe = first.pipe(0);
            first.place(pipe[0], 7, false);
            first.close();
            waitUntil(() -> ExecutorPool.idle() == 1, "the executor waits in the pool");

            ExecutorTaskTable next = runtime.start(2, FLOOR);
            assertEquals(tid, next.tid(), "the same thread serves the next table");
            assertEquals(0, ExecutorPool.idle());
            assertArrayEquals(new int[0], next.listFds(), "the table the next restore gets is empty");
            assertArrayEquals(new int[0], next.inheritedFds(), "and holds no copy of the JVM's fds");
            int[] again = next.pipe(0);
            next.place(again[1], 7, false);
            int[] open = next.listFds();
            Arrays.sort(open);
            assertArrayEquals(new int[] {7, again[0]}, open, "what this table made, and nothing else");
            assertThrows(IllegalStateException.class, () -> first.pipe(0),
                    "a closed table never reaches the executor that now serves another");
        });
    }

    @Test
    void thePoolKeepsNoMoreThanItsMaximumAndTheOthersEnd() {
        within(() -> {
            ExecutorPool.keep(2, Duration.ofSeconds(30));
            Set<Integer> tids = new HashSet<>();
            ExecutorTaskTable[] t = new ExecutorTaskTable[4];
            for (int i = 0; i < t.length; i++) {
                t[i] = runtime.start(10 + i, FLOOR);
                tids.add(t[i].tid());
            }
            assertEquals(4, tids.size());
            for (ExecutorTaskTable x : t) {
                x.close();
            }
            waitUntil(() -> ExecutorPool.idle() == 2, "two executors kept");
            waitUntil(() -> tids.stream().filter(ExecutorPoolTest::threadExists).count() == 2,
                    "the two it does not keep end");
        });
    }

    @Test
    void anIdleExecutorEndsAfterItsTime() {
        within(() -> {
            ExecutorPool.keep(4, Duration.ofMillis(50));
            ExecutorTaskTable t = runtime.start(20, FLOOR);
            int tid = t.tid();
            t.close();
            waitUntil(() -> !threadExists(tid), "the executor ends once it has been idle 50 ms");
            assertEquals(0, ExecutorPool.idle());
            ExecutorTaskTable fresh = runtime.start(21, FLOOR);
            assertNotEquals(tid, fresh.tid(), "a new thread serves the next table");
        });
    }

    @Test
    void stoppingThePoolEndsTheIdleExecutorsAndTheNextTableGetsItsOwnThread() {
        within(() -> {
            ExecutorPool.keep(4, Duration.ofMinutes(10));
            ExecutorTaskTable t = runtime.start(30, FLOOR);
            int tid = t.tid();
            t.close();
            waitUntil(() -> ExecutorPool.idle() == 1, "the executor waits in the pool");
            ExecutorPool.stop();
            waitUntil(() -> !threadExists(tid), "it ends when the pool stops");
            ExecutorTaskTable next = runtime.start(31, FLOOR);
            int nextTid = next.tid();
            assertNotEquals(tid, nextTid);
            next.close();
            waitUntil(() -> !threadExists(nextTid), "with the pool off, an executor ends with its table");
        });
    }
}
