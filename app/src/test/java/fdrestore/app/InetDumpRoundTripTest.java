package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.sys.Sys;
import fdrestore.testkit.ImageSetText;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fdrestore dump} of a live tree holding TCP connections (both ends in the tree, one of them
 * half closed, and one end whose peer is a process outside the tree) and raw sockets: the tcp-stream
 * images get criu's hex names, the tree is then taken away as criu dump takes it (its connections in
 * repair mode, so that nothing is sent), restored with --hold --verify, and dumped again: the two image
 * sets and the connections' queues are the same, and the outside peer's data sent after the restore
 * arrives in the restored socket.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class InetDumpRoundTripTest {
    private static final int SOL_TCP = 6;
    private static final int TCP_REPAIR = 19;

    private final List<DumpRoundTripTest.Tree> trees = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();
    private Process peer;

    @TempDir
    Path tmp;

    @AfterEach
    void killEverything() {
        trees.forEach(DumpRoundTripTest.Tree::close);
        RestoredTasks.stop(restored);
        if (peer != null) {
            peer.destroyForcibly();
        }
    }

    /** Takes the tree away as criu dump does: every TCP socket in repair mode (closed silently), then SIGKILL. */
    private static void repairAndKill(DumpRoundTripTest.Tree t) throws Exception {
        int pidfd = Sys.pidfdOpen(t.pid(), 0);
        try {
            for (String name : new File("/proc/" + t.pid() + "/fd").list()) {
                int fd = Sys.pidfdGetfd(pidfd, Integer.parseInt(name));
                try {
                    Sys.setsockoptInt(fd, SOL_TCP, TCP_REPAIR, 1);
                } catch (Exception notTcp) {
                    // not a TCP socket
                } finally {
                    Sys.close(fd);
                }
            }
        } finally {
            Sys.close(pidfd);
        }
        t.close();
    }

    @Test
    void tcpConnectionsInAndOutOfTheTreeAndRawSockets() throws Exception {
        peer = new ProcessBuilder(DumpRoundTripTest.Tree.PYTHON, "-c", String.join("\n",
                "import socket, sys, time",
                "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)",
                "print(l.getsockname()[1], flush=True)",
                "a, _ = l.accept()",
                "a.sendall(b'from outside')",
                "for line in sys.stdin:",
                "    a.sendall(line.strip().encode())",
                "time.sleep(1000)")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader pr = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
        int port = Integer.parseInt(pr.readLine().trim());
        DumpRoundTripTest.Tree t = new DumpRoundTripTest.Tree(String.join("\n",
                "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4)",
                "c = socket.socket(); c.connect(l.getsockname())",
                "s, _ = l.accept()",
                "c.sendall(b'client to server'); s.sendall(b'server to client')",
                "c.shutdown(socket.SHUT_WR)",
                "x = socket.socket(); x.connect(('127.0.0.1', " + port + ")); x.sendall(b'to the outside')",
                "r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); r.bind(('127.0.0.5', 0))",
                "r.setsockopt(socket.SOL_IP, socket.IP_TOS, 8)",
                "r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)",
                "r6.setsockopt(58, 1, bytes([0xff] * 4 + [0] * 28))",
                "time.sleep(0.3)",
                "ready()"));
        trees.add(t);

        Path d1 = tmp.resolve("dump1");
        CliRunner r1 = DumpRoundTripTest.dump(t.pid(), d1);
        assertEquals(0, r1.code, r1.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d1), "the first dump passes the strict CRIU check");
        List<String> streams1 = streams(d1);
        assertEquals(3, streams1.size(), streams1.toString());
        repairAndKill(t);

        int root = CliRunner.restoreDetached(restored, d1, Path.of("/"), "--hold").pids().values().iterator().next();
        Path d2 = tmp.resolve("dump2");
        CliRunner r2 = DumpRoundTripTest.dump(root, d2);
        assertEquals(0, r2.code, r2.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d2), "the second dump passes the strict CRIU check");
        assertEquals(String.join("\n", ImageSetText.of(d1)), String.join("\n", ImageSetText.of(d2)));
        assertEquals(streams1, streams(d2), "the connections' states and queues");
        String text = String.join("\n", ImageSetText.of(d1));
        assertTrue(text.contains("state: 5") && text.contains("state: 8"), "fin-wait2 and close-wait: " + text);

        // The outside peer is still connected to the restored socket.
        OutputStream in = peer.getOutputStream();
        in.write("after the restore\n".getBytes(StandardCharsets.UTF_8));
        in.flush();
        Path d3 = tmp.resolve("dump3");
        for (int i = 0; i < 50; i++) {
            Thread.sleep(20);
            CliRunner r3 = DumpRoundTripTest.dump(root, d3);
            assertEquals(0, r3.code, r3.toString());
            if (streams(d3).stream().anyMatch(s -> s.contains("from outsideafter the restore"))) {
                return;
            }
            deleteTree(d3);
        }
        throw new AssertionError("the outside peer's data never reached the restored socket: " + streams(d3));
    }

    /** Each connection's tcp-stream image, found by criu's hex name, as "state queues": sorted. */
    private static List<String> streams(Path dir) throws Exception {
        ImageSet set = ImageSet.open(dir);
        List<String> out = new ArrayList<>();
        for (FileEntry f : set.files().values()) {
            if (!f.hasIsk() || f.getIsk().getType() != 1 || f.getIsk().getDstPort() == 0) {
                continue;
            }
            InetSkEntry e = f.getIsk();
            long ino = Integer.toUnsignedLong(e.getIno());
            String name = String.format("tcp-stream-%x.img", ino);
            assertEquals(name, Magic.TCP_STREAM.fileName(ino));
            assertTrue(Files.exists(dir.resolve(name)), name + " in " + Arrays.toString(dir.toFile().list()));
            ImageFile img = set.image(Magic.TCP_STREAM, ino).orElseThrow();
            byte[] payload = img.entries().get(0).payload();
            out.add("state " + e.getState() + " queues '" + new String(payload, StandardCharsets.ISO_8859_1) + "'");
        }
        out.sort(null);
        return out;
    }

    private static void deleteTree(Path p) throws Exception {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
