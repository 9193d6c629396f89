package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * criu 4.2's zdtm entries for the netlink, packet and memfd kinds, restored with --hold --verify through the
 * command line: every netlink socket, packet socket and memfd line of the restored tables is the one in
 * expected.norm (target, position, flags), and each table has as many fds as there. (The other fds are the
 * regular-file plugin's; their lines are compared by the corpus test.) Meant for a private network
 * namespace: sk-netlink binds port id 14978 and packet_sock puts lo in promiscuous mode.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ZdtmNetMemfdTest {
    private final List<Integer> started = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void stop() {
        RestoredTasks.stop(started);
    }

    static boolean packetSockets() {
        return NetAndMemfdRoundTripTest.packetSockets();
    }

    private static List<String> ours(List<String> lines) {
        return lines.stream().filter(l -> l.contains("-> socket#") || l.contains("-> /memfd:")).toList();
    }

    private void restoresLikeExpected(String entry, int kindFds) throws Exception {
        Path images = Samples.criu("zdtm/" + entry);
        Path root = Samples.prepareRoot("zdtm/" + entry, tmp.resolve(entry));
        // git does not keep modes: the test's directory was 0777 (criu-result.txt)
        java.nio.file.Files.setPosixFilePermissions(root.resolve("tmp/zdtm2/run/" + entry),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Map<Integer, Integer> pids = CliRunner.restoreDetached(started, images, root, "--hold").pids();
        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        expected.keySet().forEach(p -> ordered.put(p, pids.get(p)));
        Map<Integer, List<String>> got = FdSnapshot.take(ordered, root);
        for (int p : expected.keySet()) {
            assertEquals(expected.get(p).size(), got.get(p).size(), entry + " task " + p + ": " + got.get(p));
            assertEquals(kindFds, ours(expected.get(p)).size(), entry + ": expected.norm's own count");
            assertEquals(ours(expected.get(p)), ours(got.get(p)), entry + " task " + p);
        }
    }

    @Test
    void skNetlink() throws Exception {
        restoresLikeExpected("sk-netlink", 4);
    }

    @Test
    @EnabledIf(value = "packetSockets", disabledReason = "no AF_PACKET sockets here (CAP_NET_RAW needed)")
    void packetSock() throws Exception {
        restoresLikeExpected("packet_sock", 2);
    }

    @Test
    void memfd00() throws Exception {
        restoresLikeExpected("memfd00", 1);
    }

    @Test
    void memfd04() throws Exception {
        restoresLikeExpected("memfd04", 1);
    }
}
