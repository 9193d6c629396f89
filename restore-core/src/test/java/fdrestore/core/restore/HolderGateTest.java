package fdrestore.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.api.sys.WaitStatus;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.SpawnSpec;
import fdrestore.core.runtime.TaskRuntime;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The holder's gate, on real processes: a builder holder forks a task that is not a builder (a leaf),
 * and the leaf goes on only once its builder is released. If the builder dies first, or fdrestore gives
 * up on it (end of file on its command pipe), the leaf ends by itself instead of living on as an orphan
 * that nobody can find: the fault sweep found such a leaf, paused forever, after a builder was killed
 * while its queued children were being built.
 */
class HolderGateTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int FLOOR = 1000;

    private TaskRuntime runtime;
    private ExecutorTaskTable builderTable;
    private ExecutorTaskTable leafTable;
    private int cmdWrite;
    private int replyRead;
    private int builder = -1;
    private int leaf = -1;
    private int leafFd;
    private final StringBuilder replies = new StringBuilder();

    @BeforeEach
    void startBuilderAndLeaf() {
        assertTimeoutPreemptively(LIMIT, () -> {
            TaskRuntime.warmUp();
            runtime = new TaskRuntime();
            builderTable = runtime.start(1, FLOOR);
            leafTable = runtime.start(2, FLOOR);
            int[] cmd = builderTable.pipe(0);
            int[] reply = builderTable.pipe(0);
            builderTable.fcntl(reply[0], Linux.F_SETFL, Linux.O_NONBLOCK);
            String holder = Holder.path();
            builder = builderTable.spawn(SpawnSpec.builder(holder)
                    .argv(holder, "--comm", "gate-builder", "--control", cmd[0] + ":" + reply[1])
                    .envp(List.of("PATH=/usr/bin:/bin")).keep(0, 1, 2, cmd[0], reply[1]).build());
            builderTable.close(cmd[0]);
            builderTable.close(reply[1]);
            cmdWrite = cmd[1];
            replyRead = reply[0];
            leafFd = leafTable.open("/dev/null", Linux.O_RDONLY, 0);
            send("fork", Integer.toString(leafTable.tid()), "n", "0", Integer.toString(leafFd), holder,
                    "--comm", "gate-leaf");
            // "F pid" comes from the builder, "R pid" from the leaf: either may come first.
            List<String> two = List.of(line(), line());
            String f = two.stream().filter(l -> l.startsWith("F ")).findFirst().orElse(two.toString());
            assertTrue(f.matches("F \\d+ 0"), two.toString());
            leaf = Integer.parseInt(f.split(" ")[1]);
            assertTrue(two.contains("R " + leaf), "the leaf is set up: " + two);
        });
    }

    @AfterEach
    void stopAll() {
        for (int pid : new int[] {leaf, builder}) {
            if (pid > 0) {
                try {
                    Sys.kill(pid, 9);
                } catch (SysException gone) {
                    // ended, as it should have
                }
            }
        }
        reap(builder);
        if (runtime != null) {
            runtime.close();
        }
    }

    @Test
    void aLeafWaitsAtItsGateUntilTheBuilderIsReleased() {
        assertTimeoutPreemptively(LIMIT, () -> {
            while (fds(leaf).size() > 3) {
                Thread.sleep(1); // it still has its ready fd: it said R but has not closed it yet
            }
            Thread.sleep(50);
            assertTrue(Processes.running(leaf));
            // built without an exec, it still shows its own holder options (ps), not its builder's
            String cmdline = Files.readString(Path.of("/proc/" + leaf + "/cmdline")).replace('\0', ' ');
            assertTrue(cmdline.startsWith(Holder.path() + " --comm gate-leaf "), cmdline);
            assertFalse(cmdline.contains("gate-builder"), cmdline);
            assertTrue(fds(leaf).contains(leafFd), "the leaf has its fd");
            assertEquals(3, fds(leaf).size(), "its fd, the gate and the acknowledgement: " + fds(leaf));
            send("release");
            assertEquals("D 0", line());
            // No wait: the builder answers only once its leaves are past the gate, so a verification
            // that follows the release sees their final tables.
            assertEquals(Set.of(leafFd), fds(leaf), "past the gate, the leaf keeps its own fds only");
        });
    }

    @Test
    void aLeafWhoseBuilderDiesBeforeTheReleaseEnds() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Sys.kill(builder, 9);
            reap(builder);
            awaitEnded(leaf);
        });
    }

    @Test
    void aBuilderGivenUpOnExits8AndItsLeafEnds() {
        assertTimeoutPreemptively(LIMIT, () -> {
            builderTable.close(cmdWrite); // fdrestore gives up: end of file, no release
            WaitStatus w = Sys.waitpid(builder, 0);
            builder = -1;
            assertTrue(w.exited() && w.exitCode() == 8, "status " + w.status());
            awaitEnded(leaf);
        });
    }

    @Test
    void aReleasedLeafOutlivesItsBuilder() {
        assertTimeoutPreemptively(LIMIT, () -> {
            send("release");
            assertEquals("D 0", line());
            Sys.kill(builder, 9);
            reap(builder);
            Thread.sleep(200);
            assertTrue(Processes.running(leaf), "a released task does not depend on its parent");
        });
    }

    private void send(String... fields) throws SysException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String f : fields) {
            body.writeBytes(f.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        byte[] msg = ByteBuffer.allocate(4 + body.size()).order(ByteOrder.nativeOrder()).putInt(body.size())
                .put(body.toByteArray()).array();
        assertEquals(msg.length, builderTable.write(cmdWrite, msg, 0, msg.length));
    }

    /** The next line from the builder's reply pipe; the test's timeout bounds the wait. */
    private String line() throws SysException, InterruptedException {
        byte[] buf = new byte[256];
        while (replies.indexOf("\n") < 0) {
            int n = builderTable.read(replyRead, buf, 0, buf.length);
            if (n == 0) {
                return "EOF";
            }
            if (n > 0) {
                replies.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
            } else {
                Thread.sleep(1);
            }
        }
        int nl = replies.indexOf("\n");
        String l = replies.substring(0, nl);
        replies.delete(0, nl + 1);
        return l;
    }

    private static Set<Integer> fds(int pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.map(p -> Integer.parseInt(p.getFileName().toString())).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /** Waits until {@code pid} has ended (gone, or a zombie of whoever adopted it). */
    private static void awaitEnded(int pid) throws InterruptedException {
        while (Processes.running(pid)) {
            Thread.sleep(5);
        }
        assertFalse(Processes.running(pid));
    }

    private static void reap(int pid) {
        if (pid > 0) {
            try {
                Sys.waitpid(pid, 0);
            } catch (SysException notOurs) {
                // reaped already
            }
        }
    }
}
