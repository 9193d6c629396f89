package fdrestore.app;

import fdrestore.app.serve.Server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fdrestore.api.sys.Sys;
import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * fdrestore serve under socket activation, as share/systemd/fdrestore.socket starts it: the unit files as
 * systemd reads them, and a real restore through a server started by the first client's connect (a shim
 * that does what systemd does: bind, wait for a connection, fd 3, LISTEN_FDS, LISTEN_PID, exec).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServeActivationIT {
    private static Path dist() {
        return PackagingIT.dist();
    }

    /** The [Section] Key=value lines of a unit file (comments and blank lines left out; last value wins). */
    static Map<String, String> unitKeys(Path unit) throws IOException {
        Map<String, String> keys = new LinkedHashMap<>();
        String section = "";
        for (String raw : Files.readAllLines(unit)) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                section = line.substring(1, line.length() - 1);
                continue;
            }
            int eq = line.indexOf('=');
            assertTrue(eq > 0, unit + ": not a Key=value line: " + raw);
            keys.put(section + "." + line.substring(0, eq).strip(), line.substring(eq + 1).strip());
        }
        return keys;
    }

    @Test
    void theUnitsSayWhatTheServerAndTheClientExpect() throws Exception {
        Path units = dist().resolve("share/systemd");
        Map<String, String> socket = unitKeys(units.resolve("fdrestore.socket"));
        assertEquals("no", socket.get("Socket.Accept"), "one server takes every connection");
        assertEquals("0600", socket.get("Socket.SocketMode"));
        assertEquals("0700", socket.get("Socket.DirectoryMode"), "the server refuses a directory others can write");
        // root's default socket, where the client looks first
        assertEquals(Path.of("/run/fdrestore/fdrestore.sock"), Path.of(socket.get("Socket.ListenStream")));
        if (Sys.geteuid() == 0) {
            assertEquals(Server.defaultSocket(Map.of()), Path.of(socket.get("Socket.ListenStream")));
        }
        assertEquals("sockets.target", socket.get("Install.WantedBy"));
        Map<String, String> service = unitKeys(units.resolve("fdrestore.service"));
        assertTrue(service.get("Service.ExecStart").endsWith("/bin/fdrestore serve"), service.toString());
        assertEquals("process", service.get("Service.KillMode"), "detached tasks outlive a restart of the server");
        assertEquals("fdrestore.socket", service.get("Unit.Requires"));
        assertEquals("fdrestore.socket", service.get("Install.Also"));
    }

    @Test
    void systemdAnalyzeVerifiesTheUnits(@TempDir Path tmp) throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assumeTrue(Files.isExecutable(analyze), "no systemd-analyze here: the units are checked by the key test only");
        Path units = dist().resolve("share/systemd");
        // ExecStart where this distribution is (systemd-analyze checks that it is executable)
        Files.writeString(tmp.resolve("fdrestore.service"), Files.readString(units.resolve("fdrestore.service"))
                .replace("/opt/fdrestore/bin/fdrestore", dist().resolve("bin/fdrestore").toString()));
        Files.copy(units.resolve("fdrestore.socket"), tmp.resolve("fdrestore.socket"));
        Process p = new ProcessBuilder(analyze.toString(), "verify", tmp.resolve("fdrestore.socket").toString(),
                tmp.resolve("fdrestore.service").toString()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), said);
        assertEquals("", said.strip(), "systemd-analyze has nothing to say about the units (an unknown key is a warning)");
    }

    /** The activated server: the shim's process, which becomes the server's JVM on the first connect. */
    private static final class Activated implements AutoCloseable {
        final Process process;
        final StringBuffer log = new StringBuffer();

        Activated(Path socket) throws IOException, InterruptedException {
            Path shim;
            try {
                shim = Path.of(ServeActivationIT.class.getResource("socket-activate.py").toURI());
            } catch (java.net.URISyntaxException e) {
                throw new IOException(e);
            }
            process = new ProcessBuilder("python3", shim.toString(), socket.toString(),
                    dist().resolve("bin/fdrestore").toString(), "serve", "--warm-up", "3")
                    .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            InputStream in = process.getInputStream();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        log.append(line).append('\n');
                    }
                } catch (IOException ended) {
                    // gone
                }
            }, "activated-server-log");
            reader.setDaemon(true);
            reader.start();
            await("shim: listening", 30);
        }

        void await(String what, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!log.toString().contains(what)) {
                assertTrue(process.isAlive() && System.nanoTime() < deadline, "no \"" + what + "\" in:\n" + log);
                Thread.sleep(20);
            }
        }

        int served() {
            return (int) log.toString().lines().filter(l -> l.contains(" -> exit ")).count();
        }

        @Override
        public void close() {
            process.destroy();
            boolean ended;
            try {
                ended = process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while the server ends", e);
            }
            assertTrue(ended, "the server ends on SIGTERM");
        }
    }

    private static DistributionIT.Run client(Path socket, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(dist().resolve("bin/fdrestore").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().remove("FDRESTORE_SERVER");
        pb.environment().put("FDRESTORE_SOCKET", socket.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new DistributionIT.Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private static boolean python3() {
        try {
            return new ProcessBuilder("python3", "-c", "").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @SuppressWarnings("unchecked")
    private static void assertRestoredAndVerified(DistributionIT.Run r) {
        assertEquals(0, r.code(), r.out() + r.err());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out());
        assertEquals(4, ((List<Object>) doc.get("tasks")).size());
        assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), r.out());
    }

    @Test
    void theFirstClientStartsTheServerAndTheNextOnesAreServedWarm(@TempDir Path tmp) throws Exception {
        assumeTrue(python3(), "no python3 for the socket-activation shim");
        Path socket = tmp.resolve("fdrestore.sock");
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("r"));
        String images = Samples.criu("a_pipe").toString();
        try (Activated server = new Activated(socket)) {
            Thread.sleep(300);
            assertFalse(server.log.toString().contains("fdrestore serve"), "no server before the first client:\n" + server.log);
            // the first client: its connect starts the server, which serves it at once (or, past the
            // client's 3 s, the client runs the command itself); either way the restore is done
            assertRestoredAndVerified(client(socket, "restore", "--root", root.toString(), "--verify", "--then=kill", "--json", images));
            server.await("listening on fd 3 from socket activation", 60);
            server.await("warmed up with 3 restores", 120);
            int before = server.served();
            assertRestoredAndVerified(client(socket, "restore", "--root", root.toString(), "--verify", "--then=kill", "--json", images));
            // the server logs a served command after its answer: the client may be back first
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.served() < before + 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(before + 1, server.served(), "the second client was served:\n" + server.log);
            assertTrue(server.log.toString().lines().noneMatch(l -> l.contains("busy")), server.log.toString());
        }
        assertTrue(Files.exists(socket), "the server leaves the socket it was given to its owner (the socket unit)");
        Files.delete(socket);
    }
}
