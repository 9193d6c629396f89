package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.StrictCheck;
import fdrestore.testkit.ImageSetText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fdrestore dump} of live python3 trees holding netlink sockets, packet sockets and memfds, restored
 * with {@code --hold --verify}, dumped again and compared ({@link ImageSetText}); the restored memfds are
 * read back. Packet sockets need CAP_NET_RAW; the tests are meant to run in a private network namespace
 * ({@code unshare -n}), where port ids and interfaces are the test's own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NetAndMemfdRoundTripTest {
    private final List<DumpRoundTripTest.Tree> trees = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void killEverything() {
        trees.forEach(DumpRoundTripTest.Tree::close);
        RestoredTasks.stop(restored);
    }

    static boolean packetSockets() {
        try {
            Process p = new ProcessBuilder(DumpRoundTripTest.Tree.PYTHON, "-c",
                    "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()").start();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Dump, kill, restore --hold --verify, dump again; the two canonical texts must be equal. Returns the restored root's pid. */
    private int roundTrip(DumpRoundTripTest.Tree t, String... checks) throws Exception {
        Path d1 = tmp.resolve("dump1");
        CliRunner r1 = DumpRoundTripTest.dump(t.pid(), d1);
        assertEquals(0, r1.code, r1.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d1), "the first dump passes the strict CRIU check");
        t.close();
        int root = CliRunner.restoreDetached(restored, d1, Path.of("/"), "--hold").pids().values().iterator().next();
        Path d2 = tmp.resolve("dump2");
        CliRunner r2 = DumpRoundTripTest.dump(root, d2);
        assertEquals(0, r2.code, r2.toString());
        String one = String.join("\n", ImageSetText.of(d1));
        assertEquals(one, String.join("\n", ImageSetText.of(d2)), "dump(restore(dump(tree))) differs from dump(tree)");
        for (String c : checks) {
            assertTrue(one.contains(c), c + " in\n" + one);
        }
        return root;
    }

    private DumpRoundTripTest.Tree start(String script) throws IOException {
        DumpRoundTripTest.Tree t = new DumpRoundTripTest.Tree(script);
        trees.add(t);
        return t;
    }

    @Test
    void netlinkSocketsBoundWithGroupsConnectedAndUnbound() throws Exception {
        DumpRoundTripTest.Tree t = start(String.join("\n",
                "port = 0x5c000000 | (os.getpid() & 0xffff)",
                "s1 = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)",
                "s1.bind((port, 0))",
                "s2 = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)",
                "s2.bind((0, 1))",
                "s3 = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)",
                "s3.connect((port, 0))",
                "s4 = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
                "s4.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)",
                "s4.setblocking(False)",
                "s5 = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
                "s5.bind((0, 1))",
                "s5.setsockopt(270, 1, 33)",
                "ready()"));
        roundTrip(t, "protocol: 15 state: 7", "state: 1", "groups: 1 groups: 1", "so_passcred: true",
                "dst_portid: " + Integer.toUnsignedString(0x5c000000 | (t.pid() & 0xffff)));
    }

    @Test
    @EnabledIf(value = "packetSockets", disabledReason = "no AF_PACKET sockets here (CAP_NET_RAW needed)")
    void packetSocketsWithRingsMembershipsAndFanout() throws Exception {
        DumpRoundTripTest.Tree t = start(String.join("\n",
                "import struct",
                "p1 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)",
                "p1.setsockopt(263, 10, 1)",
                "p1.setsockopt(263, 8, 1)",
                "p1.setsockopt(263, 5, struct.pack('IIII', 4096, 1, 1024, 4))",
                "p1.setsockopt(263, 1, struct.pack('iHH8s', 1, 1, 0, b''))",
                "p2 = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))",
                "p2.bind(('lo', 0x0800))",
                "p2.setsockopt(263, 12, 8)",
                "p2.setsockopt(263, 9, 1)",
                "p2.setsockopt(263, 18, 13)",
                "p2.setblocking(False)",
                "ready()"));
        roundTrip(t, "type: 3", "version: 1", "aux_data: true", "rx_ring { block_size: 4096 block_nr: 1 frame_size: 1024 frame_nr: 4",
                "mclist { index: 1 type: 1", "type: 2 protocol: 8", "ifindex: 1", "reserve: 8", "orig_dev: true",
                "fanout: 13");
    }

    @Test
    void memfdsWithContentsHolesSealsAndTwoDescriptionsOfOneInode() throws Exception {
        DumpRoundTripTest.Tree t = start(String.join("\n",
                "m = os.memfd_create('fdr-test', os.MFD_ALLOW_SEALING)",
                "os.write(m, b'hello memfd ' * 1000)",
                "os.ftruncate(m, 5 * 4096 + 100)",
                "os.pwrite(m, b'tail', 5 * 4096 + 50)",
                "os.lseek(m, 5, 0)",
                "fcntl.fcntl(m, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK)",
                "os.fchmod(m, 0o640)",
                "m2 = os.open('/proc/self/fd/%d' % m, os.O_RDONLY | os.O_CLOEXEC)",
                "os.lseek(m2, 7, 0)",
                "e = os.memfd_create('empty')",
                "if os.fork() == 0:",
                "    time.sleep(1000)",
                "time.sleep(0.3)",
                "ready('%d %d %d' % (m, m2, e))"));
        String[] fds = t.ready.trim().split(" ");
        int root = roundTrip(t, "name: \"fdr-test\"", "seals: 6", "mode: 33184", "size: 20580", "name: \"empty\"");
        byte[] want = new byte[5 * 4096 + 100];
        byte[] hello = "hello memfd ".repeat(1000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(hello, 0, want, 0, hello.length);
        System.arraycopy("tail".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, want, 5 * 4096 + 50, 4);
        assertArrayEquals(want, Files.readAllBytes(Path.of("/proc/" + root + "/fd/" + fds[1])), "contents");
        assertTrue(Files.readString(Path.of("/proc/" + root + "/fdinfo/" + fds[2])).contains("pos:\t7"), "m2's position");
        assertEquals(0, Files.size(Path.of("/proc/" + root + "/fd/" + fds[3])));
    }
}
