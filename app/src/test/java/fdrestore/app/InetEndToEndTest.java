package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.json.Json;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;

/**
 * The criu 4.2 sample h_tcp (an IPv4 and an IPv6 v6only TCP listener, shared by two processes) restored
 * through the command line into real processes, compared with the original tree's fd tables
 * ({@code expected.norm}), checked by {@code --verify}, and then used: clients connect to both restored
 * listeners. The sample's ports must be free on this host; the test is skipped, naming the port, when
 * one is taken.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@ExtendWith(InetEndToEndTest.SamplePortsFree.class)
class InetEndToEndTest {
    private static final int PORT_V4 = 40123;
    private static final int PORT_V6 = 40124;

    private final List<Integer> started = new ArrayList<>();

    /** Disables the tests when 127.0.0.1:40123 or [::1]:40124, which h_tcp's listeners bind, is taken. */
    static final class SamplePortsFree implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            for (String[] a : new String[][] {{"127.0.0.1", "" + PORT_V4}, {"::1", "" + PORT_V6}}) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(InetAddress.getByName(a[0]), Integer.parseInt(a[1])));
                } catch (IOException e) {
                    return ConditionEvaluationResult.disabled("h_tcp needs TCP port " + a[1] + " on " + a[0]
                            + ", which is taken on this host: " + e.getMessage());
                }
            }
            return ConditionEvaluationResult.enabled("TCP ports " + PORT_V4 + " and " + PORT_V6 + " are free");
        }
    }

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private Map<Integer, Integer> restoreDetached(Path images, Path root) {
        return CliRunner.restoreDetached(started, images, root).pids();
    }

    @Test
    void hTcpListenersComeBackSharedAndAcceptClients(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("h_tcp");
        Path root = Samples.prepareRoot("h_tcp", tmp.resolve("root"));

        Map<Integer, Integer> pids = restoreDetached(images, root);

        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        for (int imagePid : expected.keySet()) {
            ordered.put(imagePid, pids.get(imagePid));
        }
        Map<Integer, List<String>> actual = FdSnapshot.take(ordered, root);
        assertEquals("", FdSnapshot.diff(expected, actual), "restored fd tables differ from expected.norm");

        // The restored listeners take connections (they complete in the listen backlog).
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", PORT_V4))) {
            assertTrue(c.isConnected());
            assertEquals(new InetSocketAddress("127.0.0.1", PORT_V4), c.getRemoteAddress());
        }
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("::1", PORT_V6))) {
            assertTrue(c.isConnected());
        }
        // IPV6_V6ONLY is back: nothing listens on IPv4 port 40124.
        boolean refused;
        try (SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", PORT_V6))) {
            refused = false;
        } catch (IOException e) {
            refused = true;
        }
        assertTrue(refused, "127.0.0.1:" + PORT_V6 + " accepted a connection: the IPv6 listener is not v6only");
        // Both tasks hold the same two listeners: the socket of fd 3 is the one in /proc/net/tcp on 40123.
        assertEquals(socketInode(pids.get(19273), 3), socketInode(pids.get(19275), 3));
        assertEquals(socketInode(pids.get(19273), 4), socketInode(pids.get(19275), 4));
    }

    private static String socketInode(int pid, int fd) throws IOException {
        String link = java.nio.file.Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
        assertTrue(link.startsWith("socket:["), link);
        return link;
    }
}
