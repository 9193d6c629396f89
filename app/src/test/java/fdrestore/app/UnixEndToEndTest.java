package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.json.Json;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores criu 4.2's unix socket samples through the command line and checks, beyond expected.norm: the
 * unaccepted connections of c2_listenq can be accepted from the restored listener; v_unix's queued packets
 * are back byte for byte with their boundaries, in both directions; and names survive, where criu 4.2
 * lost the accepted connection's (the client's getpeername() is the listener's name again).
 *
 * <p>The restored sockets are inspected through copies taken with pidfd_getfd into the JVM's table, then
 * used from a probe task table started after that (its private table is a copy of the JVM's).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UnixEndToEndTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private Map<Integer, Integer> restore(Path images, Path root) {
        return assertTimeoutPreemptively(LIMIT, () -> CliRunner.restoreDetached(started, images, root)).pids();
    }

    private static void assertTablesAsExpected(Path images, Path root, Map<Integer, Integer> pids) throws Exception {
        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        for (int imagePid : expected.keySet()) {
            ordered.put(imagePid, pids.get(imagePid));
        }
        assertEquals("", FdSnapshot.diff(expected, FdSnapshot.take(ordered, root)),
                "restored fd tables differ from expected.norm");
    }

    /** Copies of restored fds in the JVM's table, and a probe table that sees them at the same numbers. */
    private static final class Probe implements AutoCloseable {
        final List<Integer> copies = new ArrayList<>();
        final Map<String, Integer> fds = new LinkedHashMap<>();
        ExecutorTaskTable table;

        Probe grab(String key, int pid, int fd) throws Exception {
            int pidfd = Sys.pidfdOpen(pid, 0);
            try {
                int copy = Sys.pidfdGetfd(pidfd, fd);
                copies.add(copy);
                fds.put(key, copy);
            } finally {
                Sys.close(pidfd);
            }
            return this;
        }

        Probe start() throws Exception {
            int max = copies.stream().mapToInt(Integer::intValue).max().orElse(0);
            table = TaskRuntime.startTable(-1, max + 100);
            return this;
        }

        int fd(String key) {
            return fds.get(key);
        }

        /** One message (MSG_DONTWAIT), or null when the queue is empty. */
        byte[] recv(String key) throws Exception {
            byte[] buf = new byte[4096];
            TaskTable.Received r = table.recvFds(fd(key), buf, new int[8]);
            return r.again() ? null : Arrays.copyOf(buf, r.payloadLen());
        }

        @Override
        public void close() {
            if (table != null) {
                table.close();
            }
            copies.forEach(Sys::closeQuietly);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] pathName(Path p) {
        byte[] n = bytes(p.toString());
        return Arrays.copyOf(n, n.length + 1);
    }

    private static byte[] family(byte[] sockaddr) {
        return Arrays.copyOfRange(sockaddr, 2, sockaddr.length);
    }

    @Test
    void listenerWithUnacceptedConnections(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("c2_listenq");
        Path root = Samples.prepareRoot("c2_listenq", tmp.resolve("root"));
        Path sock = root.toRealPath().resolve("tmp/criu-work/run/c2.sock");
        Map<Integer, Integer> pids = restore(images, root);
        assertTablesAsExpected(images, root, pids);
        int server = pids.get(15402);
        int child = pids.get(15404);
        assertTrue(Files.exists(sock), "the listener's socket file is back at " + sock);

        try (Probe p = new Probe().grab("listener", server, 3).grab("accepted", server, 4)
                .grab("client", child, 3).grab("pending1", child, 4).grab("pending2", child, 5).start()) {
            TaskTable t = p.table;
            byte[] name = pathName(sock);
            assertArrayEquals(name, family(t.getsockname(p.fd("listener"))));
            // The accepted connection keeps the listener's name; its client sees it as its peer.
            assertArrayEquals(name, family(t.getsockname(p.fd("accepted"))));
            assertArrayEquals(name, family(t.getpeername(p.fd("client"))));
            assertArrayEquals(name, family(t.getpeername(p.fd("pending1"))));
            assertArrayEquals(name, family(t.getpeername(p.fd("pending2"))));
            // The accepted pair is connected: bytes go both ways.
            assertEquals(3, t.send(p.fd("client"), bytes("c2s"), 0, 3, new int[0], 0));
            assertArrayEquals(bytes("c2s"), p.recv("accepted"));
            assertEquals(3, t.send(p.fd("accepted"), bytes("s2c"), 0, 3, new int[0], 0));
            assertArrayEquals(bytes("s2c"), p.recv("client"));
            // Both unaccepted connections are in the listener's queue, and nothing else.
            List<Integer> accepted = new ArrayList<>();
            t.fcntl(p.fd("listener"), Linux.F_SETFL, Linux.O_RDWR | Linux.O_NONBLOCK); // accept must not block
            try {
                for (int i = 0; i < 2; i++) {
                    int a = t.accept(p.fd("listener"), Linux.SOCK_NONBLOCK);
                    assertTrue(a >= 0, "pending connection " + i + " can be accepted after the restore");
                    accepted.add(a);
                }
                assertEquals(-1, t.accept(p.fd("listener"), Linux.SOCK_NONBLOCK), "only two were pending");
                // Each accepted one is the peer of one of the pending clients.
                assertEquals(2, t.send(accepted.get(0), bytes("hi"), 0, 2, new int[0], 0));
                byte[] a1 = p.recv("pending1");
                byte[] a2 = p.recv("pending2");
                assertTrue((a1 == null) != (a2 == null), "exactly one pending client got the bytes");
            } finally {
                for (int a : accepted) {
                    t.close(a);
                }
            }
        }
    }

    @Test
    void datagramPairAndSeqpacketListenerKeepQueuesAndNames(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("v_unix");
        Path root = Samples.prepareRoot("v_unix", tmp.resolve("root"));
        Map<Integer, Integer> pids = restore(images, root);
        assertTablesAsExpected(images, root, pids);
        int server = pids.get(8922);
        int child = pids.get(8924);
        try (Probe p = new Probe().grab("A", server, 3).grab("B", child, 4).grab("listener", server, 5)
                .grab("accepted", server, 6).grab("client", child, 8).start()) {
            TaskTable t = p.table;
            byte[] name = bytes("\0fdrestore-v_unix");
            assertArrayEquals(name, family(t.getsockname(p.fd("listener"))));
            assertArrayEquals(name, family(t.getsockname(p.fd("accepted"))));
            // criu 4.2 failed this one: its client's peer name came back empty.
            assertArrayEquals(name, family(t.getpeername(p.fd("client"))));

            // Every queued packet is back in its receiver, in order, boundaries kept; then nothing more.
            Map<Integer, String> byFile = Map.of(5, "A", 6, "B", 8, "accepted", 11, "client");
            Map<String, List<byte[]>> want = new LinkedHashMap<>();
            for (ImageEntry e : ImageSet.open(images).image(Magic.SK_QUEUES).entries()) {
                String who = byFile.get(e.message(SkPacketEntry.class).getIdFor());
                assertNotNull(who);
                want.computeIfAbsent(who, k -> new ArrayList<>()).add(e.payload());
            }
            assertEquals(4, want.size());
            for (Map.Entry<String, List<byte[]>> w : want.entrySet()) {
                for (byte[] packet : w.getValue()) {
                    assertArrayEquals(packet, p.recv(w.getKey()), "queue of " + w.getKey());
                }
                assertNull(p.recv(w.getKey()), "queue of " + w.getKey() + " holds more than the image");
            }
            // The restored listener still accepts new connections at its name.
            int c = t.socket(Linux.AF_UNIX, Linux.SOCK_SEQPACKET, 0);
            try {
                assertEquals(0, t.connect(c, Sys.unixAbstractAddress("fdrestore-v_unix")));
                int a = t.accept(p.fd("listener"), Linux.SOCK_NONBLOCK);
                assertTrue(a >= 0);
                t.close(a);
            } finally {
                t.close(c);
            }
        }
    }

    @Test
    void noSocketFileIsLeftBehindWhenTheRestoreFails(@TempDir Path tmp) throws Exception {
        // c2_listenq with the child's /dev/null missing from the host view: use a root whose run dir is
        // absent, so the listener's bind fails; nothing may be created under the root.
        Path images = Samples.criu("c2_listenq");
        Path root = Files.createDirectories(tmp.resolve("root"));
        // --cwd-fallback: the tasks' missing cwd (the same run dir) would otherwise fail the restore first
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--root", root.toString(),
                "--cwd-fallback", "--detach", images.toString()));
        assertTrue(r.code != 0, r.toString());
        assertTrue(r.err.contains("448677") && r.err.contains("c2.sock"), "the error names the socket: " + r);
        try (Stream<Path> s = Files.walk(root)) {
            assertEquals(List.of(root), s.toList(), "nothing created under --root");
        }
    }

    private static List<Path> under(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.sorted().toList();
        }
    }

    /** The sockets /proc/net/unix shows listening (flag __SO_ACCEPTCON) at {@code path}. */
    private static long listenersAt(Path path) throws Exception {
        return Files.readAllLines(Path.of("/proc/net/unix")).stream().map(l -> l.trim().split("\\s+"))
                .filter(f -> f.length >= 8 && f[3].equals("00010000") && f[7].equals(path.toString())).count();
    }

    /** Records the tasks a --json restore started, so that @AfterEach stops them whatever it returned. */
    @SuppressWarnings("unchecked")
    private void stopIfStarted(CliRunner r) {
        if (r.out.contains("\"tasks\"")) {
            for (Object o : (List<Object>) ((Map<String, Object>) Json.parse(r.out)).get("tasks")) {
                started.add(((Number) ((Map<String, Object>) o).get("pid")).intValue());
            }
        }
    }

    @Test
    void secondRestoreOntoALiveListenersPathFailsNamingItAndLeavesNothing(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("c2_listenq");
        Path root = Samples.prepareRoot("c2_listenq", tmp.resolve("root"));
        Path sock = root.toRealPath().resolve("tmp/criu-work/run/c2.sock");
        Map<Integer, Integer> pids = restore(images, root);
        Object inode = Files.getAttribute(sock, "unix:ino");
        List<Path> files = under(root);
        CliRunner second = CliRunner.run("restore", "--root", root.toString(), "--detach", "--json", images.toString());
        stopIfStarted(second);
        assertEquals(1, second.code, second.toString());
        String err = second.err.strip();
        assertEquals(1, err.lines().count(), second.toString());
        assertTrue(err.contains(sock + " is the name of a live socket") && err.contains("held by pid " + pids.get(15402)),
                second.toString());
        assertEquals(inode, Files.getAttribute(sock, "unix:ino"), "the first restore's socket file is untouched");
        assertEquals(files, under(root), "nothing added or removed under the root");
        assertEquals(1, listenersAt(sock));
    }

    @Test
    void concurrentRestoresNeverPutTwoListenersOnOnePath(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("c2_listenq");
        Path root = Samples.prepareRoot("c2_listenq", tmp.resolve("root"));
        Path sock = root.toRealPath().resolve("tmp/criu-work/run/c2.sock");
        int n = 6;
        List<java.util.concurrent.Future<CliRunner>> runs = new ArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        try {
            for (int i = 0; i < n; i++) {
                runs.add(pool.submit(() -> {
                    go.await();
                    return CliRunner.run("restore", "--root", root.toString(), "--detach", "--json", images.toString());
                }));
            }
            go.countDown();
            int ok = 0;
            for (java.util.concurrent.Future<CliRunner> f : runs) {
                CliRunner r = f.get(LIMIT.toSeconds(), TimeUnit.SECONDS);
                stopIfStarted(r);
                if (r.code == 0) {
                    ok++;
                } else {
                    assertEquals(1, r.code, r.toString());
                    assertTrue(r.err.contains(sock.toString()), "the failure names the path: " + r);
                }
            }
            assertTrue(ok >= 1, "one restore got the path");
            assertEquals(1, listenersAt(sock), "one listener on the path, whatever the interleaving (" + ok + " succeeded)");
            assertEquals(1, ok, "only one restore can own the listener's path");
        } finally {
            pool.shutdownNow();
        }
    }
}
