package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static fdrestore.testkit.ImageSetBuilder.target;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Epolls restored into real processes through the command line with --verify: criu 4.2's v_epoll sample
 * (an epoll over a fifo and an eventfd, shared with a child that holds no target; it needs the eventfd
 * plugin jar in a plugins folder), and image sets built here for nested epolls, a shared epoll and a target
 * that is a pipe end received from another task. The kernel's view of each epoll (the {@code tfd:} lines
 * of /proc/PID/fdinfo) is checked: target fd, events, data.
 */
class EpollEndToEndTest {
    /** EPOLLIN / EPOLLOUT with EPOLLERR|EPOLLHUP, which the kernel always adds and criu dumps. */
    private static final int EPOLLIN = 0x19;
    private static final int EPOLLOUT = 0x1c;

    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    static boolean eventfdJarBuilt() {
        return EventfdPluginTest.eventfdJarBuilt();
    }

    /** The {@code tfd:} lines of an epoll fd, as "tfd events data", sorted. */
    static List<String> tfds(int pid, int fd) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "fdinfo", Integer.toString(fd)))) {
            if (l.startsWith("tfd:")) {
                String[] w = l.trim().split("\\s+");
                // tfd: N events: E data: D pos:P ino:I sdev:S
                out.add(w[1] + " " + w[3] + " " + w[5]);
            }
        }
        out.sort(null);
        return out;
    }

    @Test
    @EnabledIf(value = "eventfdJarBuilt", disabledReason = "v_epoll holds an eventfd: build the eventfd plugin jar "
            + "with `mvn -pl plugins/eventfd package` (plugins/eventfd/target/plugin-eventfd-*.jar)")
    void vEpollEqualsTheOriginalTree(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("v_epoll");
        Path root = Samples.prepareRoot("v_epoll", tmp.resolve("root"));
        Path plugins = EventfdPluginTest.pluginsDir(tmp);
        Map<Integer, Integer> pids = TimerfdEndToEndTest.restore(started, images, root, "--plugins", plugins.toString());
        TimerfdEndToEndTest.assertLikeExpected(images, root, pids);
        // The child's epoll is the root's (one description), its targets live in the root's table.
        assertEquals(0, Sys.kcmp(pids.get(7580), pids.get(7583), Linux.KCMP_FILE, 9, 9));
        assertEquals(List.of("3 19 f1f0", "5 1d e7e0"), tfds(pids.get(7580), 9));
        // child2's timer: interval exact, time left at most the image's 0.733926298 s (or within the next period).
        long[] t = TimerfdEndToEndTest.timerfdGettime(pids.get(7582), 6);
        assertEquals(1, t[2]);
        assertEquals(0, t[3]);
        assertTrue(t[0] == 0 && t[1] > 0 || t[0] == 1 && t[1] == 0, "left " + t[0] + "." + t[1]);
    }

    @Test
    void nestedSharedAndReceivedTargets(@TempDir Path tmp) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0).task(2, 1).task(3, 1);
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        long[] pipe = b.pipe(ImageSetBuilder.bytes("ready"));
        // Task 1: the pipe at 3/4; epoll 10 watches both ends; epoll 11 watches epoll 10 (nested);
        // epoll 10 is shared with task 3, which holds none of its targets.
        long inner = b.eventpoll(Linux.O_RDWR, target(3, EPOLLIN, 0xa1), target(4, EPOLLOUT, 0xa2));
        long outer = b.eventpoll(Linux.O_RDWR, target(10, EPOLLIN, 0xb1));
        // Task 2: the pipe's read end, received from task 1 (its master), watched by task 2's own epoll.
        long mine = b.eventpoll(Linux.O_RDWR, target(7, EPOLLIN, 0xc1));
        for (int pid = 1; pid <= 3; pid++) {
            b.fd(pid, 0, devnull).fd(pid, 1, devnull).fd(pid, 2, devnull);
        }
        b.fd(1, 3, pipe[0]).fd(1, 4, pipe[1]).fd(1, 10, inner, true).fd(1, 11, outer);
        b.fd(2, 7, pipe[0]).fd(2, 9, mine);
        b.fd(3, 10, inner, true);
        Path images = b.write(tmp.resolve("images"));

        Map<Integer, Integer> pids = TimerfdEndToEndTest.restore(started, images, Path.of("/"));
        assertEquals(List.of("3 19 a1", "4 1c a2"), tfds(pids.get(1), 10));
        assertEquals(List.of("10 19 b1"), tfds(pids.get(1), 11), "nested: epoll 11 watches epoll 10");
        assertEquals(List.of("7 19 c1"), tfds(pids.get(2), 9), "a target received from task 1");
        assertEquals(List.of("3 19 a1", "4 1c a2"), tfds(pids.get(3), 10), "shared: the same epoll, targets added once");
        assertEquals(0, Sys.kcmp(pids.get(1), pids.get(3), Linux.KCMP_FILE, 10, 10));
        assertEquals(0, Sys.kcmp(pids.get(1), pids.get(2), Linux.KCMP_FILE, 3, 7));
    }
}
