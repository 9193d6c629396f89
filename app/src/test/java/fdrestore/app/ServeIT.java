package fdrestore.app;

import fdrestore.app.serve.ServerProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Sys;
import fdrestore.core.json.Json;
import fdrestore.core.process.Processes;
import fdrestore.testkit.Samples;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fdrestore serve} as a user runs it: the packaged bin/fdrestore starts the server, and the same
 * launcher, through lib/fdrestore-client, hands it commands. A served command must be indistinguishable
 * from a direct one (output, exit code, Ctrl-C), only faster.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServeIT {
    record Run(int code, String out, String err) {
    }

    @TempDir
    Path tmp;

    private ServerProcess server;

    private static Path bin() {
        return Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore");
    }

    @BeforeEach
    void startServer() throws Exception {
        server = ServerProcess.start(bin(), tmp.resolve("run/s.sock"), 90, "--warm-up", "2");
    }

    @AfterEach
    void stopServer() throws Exception {
        server.close(); // SIGTERM
        assertFalse(server.process().isAlive(), "the server stops on SIGTERM");
        assertFalse(Files.exists(server.socket()), "and removes its socket");
    }

    private ProcessBuilder command(Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(bin().toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("FDRESTORE_SOCKET", server.socket().toString());
        pb.environment().remove("FDRESTORE_SERVER");
        pb.environment().putAll(env);
        return pb;
    }

    /**
     * Exactly {@code n} commands served. The server logs a command before it answers its exit code, but
     * the log reaches this JVM through a pipe and a pump thread: wait a little for the n-th line first.
     */
    private void assertServed(int n, String what) throws InterruptedException {
        server.awaitServed(n - 1, TimeUnit.SECONDS.toNanos(10));
        assertEquals(n, server.served(), what + ":\n" + server.log());
    }

    private Run run(Map<String, String> env, String... args) throws Exception {
        Process p = command(env, args).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }


    @Test
    @SuppressWarnings("unchecked")
    void aServedRestoreVerifiesAndStopsLikeADirectOne() throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        Run r = run(Map.of(), "restore", "--root", root.toString(), "--verify", "--then=kill", "--json",
                Samples.criu("a_pipe").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out());
        assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"));
        for (Object o : (List<Object>) doc.get("tasks")) {
            int pid = ((Number) ((Map<String, Object>) o).get("pid")).intValue();
            assertFalse(Processes.running(pid), "task " + pid + " was stopped");
        }
        assertServed(1, "the server ran it");
        assertTrue(server.log().contains("restore --root " + root), server.log());
    }

    @Test
    void servedOutputAndExitCodesAreTheDirectOnes() throws Exception {
        Path sample = Samples.criu("a_pipe");
        Run served = run(Map.of(), "show", sample.toString());
        Run direct = run(Map.of("FDRESTORE_SERVER", "off"), "show", sample.toString());
        assertEquals(0, served.code(), served.err());
        assertEquals(direct.out(), served.out());
        assertEquals(direct.err(), served.err());
        Run badServed = run(Map.of(), "restore", tmp.toString());
        Run badDirect = run(Map.of("FDRESTORE_SERVER", "off"), "restore", tmp.toString());
        assertEquals(2, badServed.code(), badServed.err());
        assertEquals(badDirect.code(), badServed.code());
        assertEquals(badDirect.err(), badServed.err());
        assertServed(2, "FDRESTORE_SERVER=off ran in its own JVM");
        Run noServer = run(Map.of("FDRESTORE_SOCKET", tmp.resolve("none.sock").toString()), "show", sample.toString());
        assertEquals(direct.out(), noServer.out(), "without a server the launcher runs the command itself");
        Run dump = run(Map.of(), "dump", "--help");
        assertEquals(0, dump.code(), dump.err());
        assertServed(2, "dump is never served");
    }

    @Test
    void aStoppedServerIsGivenUpAndTheCommandRunsOnceWithoutIt() throws Exception {
        int pid = (int) server.process().pid(); // the launcher execs the JVM: the same process
        Path sample = Samples.criu("a_pipe");
        Run direct = run(Map.of("FDRESTORE_SERVER", "off"), "show", sample.toString());
        Sys.kill(pid, 19); // SIGSTOP: it still accepts connections (the backlog), and answers nothing
        Run r;
        try {
            r = run(Map.of(), "show", sample.toString());
        } finally {
            Sys.kill(pid, 18); // SIGCONT
        }
        assertEquals(0, r.code(), r.err());
        assertEquals(direct.out(), r.out());
        assertTrue(r.err().contains("did not answer within 3 s; running without it"), r.err());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!server.log().contains("gave up before the start")) {
            assertTrue(System.nanoTime() < deadline, "the server, running again, learns the client gave up:\n" + server.log());
            Thread.sleep(20);
        }
        assertEquals(0, server.served(), "so it did not run the command a second time");
    }

    @Test
    void theClientsCtrlCStopsAServedWaitingRestore() throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        Process client = command(Map.of(), "restore", "--root", root.toString(), Samples.criu("a_pipe").toString()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        List<Integer> pids = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("Waiting for the restored tasks")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s+\\d+\\s+(\\d+)\\s+\\d+\\s+holder").matcher(line);
            if (m.find()) {
                pids.add(Integer.parseInt(m.group(1)));
            }
        }
        assertEquals(4, pids.size(), "the restored tasks are listed");
        assertTrue(pids.stream().allMatch(Processes::running));
        Sys.kill((int) client.pid(), 2);
        assertTrue(client.waitFor(30, TimeUnit.SECONDS));
        assertEquals(130, client.exitValue(), "the shell's code for SIGINT");
        for (int pid : pids) {
            assertFalse(Processes.running(pid), "task " + pid + " stopped");
        }
        // the server logs the command's end after it answers: the client may be back first
        long logged = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!server.log().contains("(signal 2)") && System.nanoTime() < logged) {
            Thread.sleep(20);
        }
        assertTrue(server.log().contains("(signal 2)"), server.log());
    }
}
