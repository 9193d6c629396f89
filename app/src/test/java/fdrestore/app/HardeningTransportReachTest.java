package fdrestore.app;

import fdrestore.app.bench.SyntheticImages;
import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.Transport;
import fdrestore.core.json.Json;
import fdrestore.core.process.Holder;
import fdrestore.core.restore.Restorer;
import fdrestore.testkit.Samples;
import fdrestore.transport.ScmTransport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 item 3, as an unprivileged user (nobody, through setpriv or runuser) against real restores:
 * the transport's endpoints are out of reach. The attacker is told every endpoint name this JVM holds,
 * including the names in the transport's private network namespace (which it could not see itself), and
 * floods them; a squatter binds the names of the run ids the restore will use before it starts. With the
 * endpoints in the host's namespace ({@code fdrestore.transport.netns=off}, the code before the fix) the
 * flood is delivered and the squat makes the restore fail ("kept colliding after 3 run ids").
 */
class HardeningTransportReachTest {
    private static final Duration LIMIT = Duration.ofSeconds(240);

    static boolean canRunAsNobody() {
        return HardeningHostilePeerTest.python() && nobody() != null
                && Files.isExecutable(Path.of("/usr/bin/python3"));
    }

    /** The prefix that runs a program as nobody, or null (not root, or no setpriv/runuser). */
    static List<String> nobody() {
        try {
            if (!Files.readString(Path.of("/proc/self/status")).lines().filter(l -> l.startsWith("Uid:"))
                    .map(l -> l.split("\\s+")[2]).findFirst().orElse("?").equals("0")) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return HardeningDistributionIT.asNobody();
    }

    /**
     * Runs as nobody: reads endpoint names (one a line, without the @) from stdin as they come and floods
     * every name it knows with 4 KiB datagrams, one in ten carrying an fd, until stdin ends; then prints
     * "names N delivered D".
     */
    static final String FLOOD = String.join("\n",
            "import socket, os, sys, select, array",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.setblocking(False)",
            "f = os.open('/dev/null', os.O_RDONLY)",
            "names, n, buf, eof = [], 0, b'', False",
            "print('ready', flush=True)",
            "while not eof:",
            "    while select.select([0], [], [], 0 if names else 0.05)[0]:",
            "        c = os.read(0, 65536)",
            "        if not c:",
            "            eof = True; break",
            "        buf += c",
            "        *lines, buf = buf.split(b'\\n')",
            "        names += [b'\\0' + l for l in lines if l]",
            "    for a in names:",
            "        for i in range(16):",
            "            try:",
            "                anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [f]))] if i == 0 else []",
            "                s.sendmsg([b'x' * 4096], anc, 0, a); n += 1",
            "            except OSError:",
            "                break",
            "print('names', len(names), 'delivered', n, flush=True)");

    /** Runs as nobody: binds the abstract names argv[1:], says "bound N", holds them until stdin ends. */
    static final String SQUAT = String.join("\n",
            "import socket, sys",
            "held = []",
            "for n in sys.argv[1:]:",
            "    q = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "    try:",
            "        q.bind(b'\\0' + n.encode()); held.append(q)",
            "    except OSError:",
            "        q.close()",
            "print('bound', len(held), flush=True)",
            "sys.stdin.read()");

    static Process asNobody(String script, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(nobody());
        cmd.addAll(List.of("/usr/bin/python3", "-c", script));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    static String line(Process p) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = p.getInputStream().read()) >= 0 && c != '\n') {
            b.append((char) c);
        }
        return b.toString();
    }

    /**
     * Names (without @) of the transport sockets this JVM holds, in the host's namespace and in the
     * transport's private one (listed by the thread that lives in it).
     */
    static Set<String> endpointNames() {
        Set<Long> held = HardeningSupport.socketsHeldByJvm();
        Set<String> out = new HashSet<>();
        HardeningSupport.transportSockets().forEach((ino, name) -> {
            if (held.contains(ino)) {
                out.add(name.substring(1));
            }
        });
        return out;
    }

    /** What the restores left, the attacker (a child of this JVM until the test ends it) aside. */
    static List<String> leftovers(Map<Integer, String> fds, Path root, Map<String, String> tree, Process attacker)
            throws IOException {
        List<String> left = new ArrayList<>(HardeningSupport.leftovers(fds, root, tree));
        left.removeIf(l -> l.startsWith("child process alive: " + attacker.pid() + " "));
        return left;
    }

    @Test
    @EnabledIf(value = "canRunAsNobody", disabledReason = "needs root, /usr/bin/python3 and setpriv or runuser")
    @SuppressWarnings("unchecked")
    void anUnprivilegedFloodOfEveryEndpointNameReachesNothing(@TempDir Path tmp) throws Exception {
        Path images = tmp.resolve("images");
        Path root = tmp.resolve("root");
        SyntheticImages.write(SyntheticImages.Spec.parse("200x32:shape=tree"), images, root);
        Map<String, String> tree = HardeningSupport.tree(root);
        int rounds = 3;
        Set<String> told = new HashSet<>();
        long droppedTotal = 0;
        String said;
        Process p = asNobody(FLOOD, List.of());
        Map<Integer, String> fds = HardeningSupport.jvmFds(); // with the pipes to the attacker
        try {
            assertEquals("ready", line(p));
            OutputStream toAttacker = p.getOutputStream();
            for (int round = 0; round < rounds; round++) {
                AtomicBoolean running = new AtomicBoolean(true);
                Thread spy = new Thread(() -> {
                    while (running.get()) {
                        for (String n : endpointNames()) {
                            if (told.add(n)) {
                                try {
                                    toAttacker.write((n + "\n").getBytes(StandardCharsets.UTF_8));
                                    toAttacker.flush();
                                } catch (IOException e) {
                                    return;
                                }
                            }
                        }
                        Thread.onSpinWait();
                    }
                }, "spy");
                spy.setDaemon(true);
                spy.start();
                CliRunner r;
                try {
                    r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--root", root.toString(),
                            "--verify", "--json", "--then=kill", images.toString()));
                } finally {
                    running.set(false);
                    spy.join();
                }
                assertEquals(0, r.code, r.toString());
                Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
                assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out);
                droppedTotal += ((Number) doc.get("droppedMessages")).longValue();
                assertEquals(List.of(), leftovers(fds, root, tree, p));
            }
        } finally {
            p.getOutputStream().close();
            said = line(p);
            p.waitFor();
        }
        System.out.printf("HARDENING transport flood as nobody: %d restores of 200 tasks, %d endpoint names given to"
                + " the attacker, attacker says \"%s\", %d datagrams dropped by the restores%n", rounds, told.size(),
                said, droppedTotal);
        // How many names the spy sees while the restores run depends on the machine's speed (42 to 600 here);
        // the attacker must have been given some, or the flood tested nothing.
        assertTrue(told.size() >= 1, "the spy found no endpoint name while the restores ran");
        assertTrue(said.startsWith("names "), said);
        assertEquals("delivered 0", said.substring(said.indexOf("delivered")), "the flood reached an endpoint");
        assertEquals(0, droppedTotal, "a datagram reached a receiver");
    }

    @Test
    @EnabledIf(value = "canRunAsNobody", disabledReason = "needs root, /usr/bin/python3 and setpriv or runuser")
    void anUnprivilegedSquatOfTheRunIdsNamesChangesNothing(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("a_pipe");
        Path root = Samples.prepareRoot("a_pipe", tmp);
        ImageSet set = ImageSet.open(images);
        List<String> planned = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String run = "squat" + ProcessHandle.current().pid() + "x" + System.nanoTime() + "n" + i;
            planned.add(run);
            for (var t : set.tasks()) {
                names.add("fdrestore-" + run + "-" + t.pid());
            }
        }
        Process p = asNobody(SQUAT, names);
        try {
            assertEquals("bound " + names.size(), line(p));
            List<String> used = new ArrayList<>();
            Supplier<Transport> transports = () -> {
                ScmTransport t = new ScmTransport(planned.get(Math.min(used.size(), planned.size() - 1)));
                used.add(t.runId());
                return t;
            };
            Map<Integer, String> fds = HardeningSupport.jvmFds(); // with the pipes to the squatter
            Map<String, String> tree = HardeningSupport.tree(root);
            Restorer.Result res = assertTimeoutPreemptively(LIMIT, () -> {
                try (PluginHost host = PluginHost.load(null)) {
                    return new Restorer(set, host.kinds(), transports,
                            new Restorer.Options(root, Map.of(), Holder.path(), false, 0)).run();
                }
            });
            assertNotNull(res);
            try {
                assertEquals(List.of(planned.get(0)), used, "the squatted run id was used, without a retry");
                var report = new fdrestore.core.restore.Verifier(set, root).verify(res.pidMap());
                assertTrue(report.ok(), report.mismatches().toString());
            } finally {
                RestoredTasks.stop(new ArrayList<>(res.pidMap().values()));
            }
            HardeningSupport.removeNewSockets(root, tree);
            assertEquals(List.of(), leftovers(fds, root, tree, p));
            System.out.printf("HARDENING transport squat as nobody: %d names of 3 run ids bound first; the restore"
                    + " used the first run id and verified%n", names.size());
        } finally {
            p.getOutputStream().close();
            p.waitFor();
        }
    }
}
