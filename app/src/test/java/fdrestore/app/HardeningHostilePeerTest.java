package fdrestore.app;

import fdrestore.app.bench.SyntheticImages;
import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.json.Json;
import fdrestore.core.process.Holder;
import fdrestore.core.restore.Restorer;
import fdrestore.testkit.Samples;
import fdrestore.transport.ScmTransport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, hostile local peers during real restores (the transport's own unit tests are in
 * restore-transport): while a generated set is restored through the CLI, peers find the transport's
 * abstract names in /proc/net/unix (the ones held by this JVM's executor threads) and send to them: from
 * this very JVM (its pid passes the SO_PASSCRED check, so only the secret token stops it) and from a
 * python3 process (another pid). They send garbage, fds, huge datagrams and well-formed messages with
 * forged tokens and tags. Nothing is accepted: the restore verifies, and --json "droppedMessages" counts
 * what reached a receiver. A squatted name is avoided with a new run id.
 *
 * <p>These run the transport's fallback, with its endpoints in the host's network namespace
 * ({@code fdrestore.transport.netns=off}): as root the endpoints are in a private namespace that no peer
 * reaches at all ({@link HardeningTransportReachTest}).
 */
class HardeningHostilePeerTest {
    private static final Duration LIMIT = Duration.ofSeconds(180);
    static final AtomicLong TRIED = new AtomicLong();
    static final AtomicLong DROPPED = new AtomicLong();
    static final AtomicLong ACCEPTED = new AtomicLong();

    @BeforeEach
    void hostNamespace() {
        System.setProperty("fdrestore.transport.netns", "off");
    }

    @AfterEach
    void privateNamespace() {
        System.clearProperty("fdrestore.transport.netns");
    }

    @AfterAll
    static void summary() {
        System.out.printf("HARDENING hostile peers: %d hostile datagrams delivered to transport names, %d dropped and "
                + "counted by the restores, %d accepted%n", TRIED.get(), DROPPED.get(), ACCEPTED.get());
    }

    static boolean python() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import socket, array, struct").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Names (without the leading @) of the transport sockets held by this JVM right now. */
    static List<String> ourNames() {
        Set<Long> held = HardeningSupport.socketsHeldByJvm();
        List<String> out = new ArrayList<>();
        HardeningSupport.transportSockets().forEach((ino, name) -> {
            if (held.contains(ino)) {
                out.add(name.substring(1));
            }
        });
        return out;
    }

    /** From this JVM: one datagram of each hostile kind to {@code name}; returns how many were delivered. */
    static int sendFromHere(int sock, String name, SplittableRandom rnd) throws SysException {
        byte[] dest = Sys.unixAbstractAddress(name);
        int devnull = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        int delivered = 0;
        try {
            int[] fds = {devnull, devnull, devnull};
            List<byte[]> msgs = new ArrayList<>();
            msgs.add("garbage!".getBytes());
            byte[] big = new byte[60_000];
            rnd.nextBytes(big);
            msgs.add(big);
            // well-formed: magic "FDRT", a guessed token, count, tags naming real-looking slots and hand-offs
            for (int k = 0; k < 3; k++) {
                ByteBuffer b = ByteBuffer.allocate(16 + 8 * 3).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(0x54524446).putLong(rnd.nextLong()).putInt(3);
                b.putLong(k).putLong(rnd.nextInt(64)).putLong(Long.MIN_VALUE | k);
                msgs.add(b.array());
            }
            ByteBuffer lie = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN); // count says 200, no tags
            lie.putInt(0x54524446).putLong(0).putInt(200);
            msgs.add(lie.array());
            for (int i = 0; i < msgs.size(); i++) {
                byte[] m = msgs.get(i);
                int n = i == 0 ? 0 : i == 1 ? 1 : 3;
                try {
                    if (Sys.sendmsg(sock, dest, m, m.length, fds, n, Linux.MSG_DONTWAIT) >= 0) {
                        delivered++;
                    }
                } catch (SysException e) {
                    // ECONNREFUSED: the endpoint closed meanwhile; EMSGSIZE: over its buffer
                }
            }
        } finally {
            Sys.closeQuietly(devnull);
        }
        return delivered;
    }

    /** A python3 peer (another pid) that sends garbage, fds, a forged header and a huge datagram to argv names. */
    static final String PY = String.join("\n",
            "import socket, os, sys, struct, array",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.setblocking(False)",
            "f = [os.open('/dev/null', os.O_RDONLY) for _ in range(3)]",
            "n = 0",
            "for name in sys.argv[1:]:",
            "    a = b'\\0' + name.encode()",
            "    for data, fds in [(b'junk', []), (b'\\xff' * 5, f[:1]),",
            "            (struct.pack('<IQI', 0x54524446, 12345, 2) + struct.pack('<QQ', 1, 2), f[:2]),",
            "            (b'\\0' * 60000, f)]:",
            "        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', fds))] if fds else []",
            "        try:",
            "            s.sendmsg([data], anc, 0, a); n += 1",
            "        except OSError:",
            "            pass",
            "print(n, flush=True)");

    @Test
    @EnabledIf(value = "python", disabledReason = "python3 with socket/array/struct is needed for the foreign-pid peer")
    @SuppressWarnings("unchecked")
    void hostilePeersDuringARestoreAreDroppedAndCounted(@TempDir Path tmp) throws Exception {
        Path images = tmp.resolve("images");
        Path root = tmp.resolve("root");
        SyntheticImages.write(SyntheticImages.Spec.parse("64x128:shape=tree"), images, root);
        Map<String, String> tree = HardeningSupport.tree(root);
        long delivered = 0;
        long dropped = 0;
        int attacked = 0;
        SplittableRandom rnd = new SplittableRandom(9);
        int sock = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.O_CLOEXEC, 0);
        Map<Integer, String> fds = HardeningSupport.jvmFds(); // with the peer's own socket
        try {
            // A datagram counts as dropped only when a receiver reads it before its endpoint closes; whether
            // one does in a given restore is a matter of timing, so restores go on until one has (or 20).
            for (int round = 0; round < 20 && (attacked < 2 || dropped == 0); round++) {
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicInteger sent = new AtomicInteger();
                Set<String> hit = new HashSet<>();
                Thread peer = new Thread(() -> {
                    while (running.get()) {
                        List<String> names = ourNames();
                        names.removeAll(hit);
                        if (names.isEmpty()) {
                            Thread.onSpinWait();
                            continue;
                        }
                        try {
                            for (String n : names) {
                                sent.addAndGet(sendFromHere(sock, n, rnd));
                            }
                            List<String> cmd = new ArrayList<>(List.of("python3", "-c", PY));
                            cmd.addAll(names);
                            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                            String out = new String(p.getInputStream().readAllBytes()).trim();
                            p.waitFor();
                            sent.addAndGet(Integer.parseInt(out.isEmpty() ? "0" : out.split("\\s+")[0]));
                            hit.addAll(names);
                        } catch (Exception e) {
                            hit.addAll(names);
                        }
                    }
                }, "hostile-peer");
                peer.setDaemon(true);
                peer.start();
                CliRunner r;
                try {
                    r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--root", root.toString(),
                            "--verify", "--json", "--then=kill", images.toString()));
                } finally {
                    running.set(false);
                    peer.join();
                }
                assertEquals(0, r.code, r.toString());
                Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
                assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out);
                long d = ((Number) doc.get("droppedMessages")).longValue();
                assertTrue(d <= sent.get(), "dropped " + d + " of " + sent.get() + " hostile datagrams");
                if (sent.get() > 0) {
                    attacked++;
                }
                delivered += sent.get();
                dropped += d;
                assertEquals(List.of(), HardeningSupport.leftovers(fds, root, tree));
            }
        } finally {
            Sys.closeQuietly(sock);
        }
        TRIED.addAndGet(delivered);
        DROPPED.addAndGet(dropped);
        System.out.printf("HARDENING hostile: %d restores attacked, %d datagrams delivered, %d dropped (the rest were "
                + "queued on endpoints that closed first, and closed with them), 0 accepted (verified)%n", attacked,
                delivered, dropped);
        assertTrue(attacked > 0, "the peers never found a transport name during a restore");
        assertTrue(dropped > 0, "no hostile datagram reached a receiver");
    }

    @Test
    void aSquattedNameIsAvoidedWithANewRunId(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("a_pipe");
        Path root = Samples.prepareRoot("a_pipe", tmp);
        ImageSet set = ImageSet.open(images);
        String squattedRun = "squat" + ProcessHandle.current().pid() + "x" + System.nanoTime();
        // squat the name of every task of the fixed run id (the first one is enough to collide)
        List<Integer> squats = new ArrayList<>();
        try {
            for (var t : set.tasks()) {
                int s = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.O_CLOEXEC, 0);
                squats.add(s);
                Sys.bind(s, Sys.unixAbstractAddress("fdrestore-" + squattedRun + "-" + t.pid()));
            }
            List<String> runIds = new ArrayList<>();
            Supplier<Transport> transports = () -> {
                ScmTransport t = runIds.isEmpty() ? new ScmTransport(squattedRun) : ScmTransport.create();
                runIds.add(t.runId());
                return t;
            };
            Map<Integer, String> fds = HardeningSupport.jvmFds();
            Map<String, String> tree = HardeningSupport.tree(root);
            Restorer.Result res = assertTimeoutPreemptively(LIMIT, () -> {
                try (PluginHost host = PluginHost.load(null)) {
                    return new Restorer(set, host.kinds(), transports,
                            new Restorer.Options(root, Map.of(), Holder.path(), false, 0)).run();
                }
            });
            try {
                assertEquals(2, runIds.size(), "one retry with a new run id: " + runIds);
                assertTrue(!runIds.get(1).equals(squattedRun), runIds.toString());
                var report = new fdrestore.core.restore.Verifier(set, root).verify(res.pidMap());
                assertTrue(report.ok(), report.mismatches().toString());
            } finally {
                RestoredTasks.stop(new ArrayList<>(res.pidMap().values()));
            }
            // the squatter keeps its names: the restore did not touch them
            Set<String> names = new HashSet<>(HardeningSupport.transportSockets().values());
            for (var t : set.tasks()) {
                assertTrue(names.contains("@fdrestore-" + squattedRun + "-" + t.pid()), names.toString());
            }
            HardeningSupport.removeNewSockets(root, tree);
            List<String> left = new ArrayList<>(HardeningSupport.leftovers(fds, root, tree));
            left.removeIf(l -> l.contains(squattedRun)); // the squatter's own sockets, closed below
            assertEquals(List.of(), left);
        } finally {
            squats.forEach(Sys::closeQuietly);
        }
    }
}
