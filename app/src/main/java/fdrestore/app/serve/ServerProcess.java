package fdrestore.app.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An {@code fdrestore serve} this JVM starts through the distribution's launcher ({@code bench --command},
 * and the tests): its process, its socket and what it logs.
 */
public final class ServerProcess implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final StringBuffer log = new StringBuffer();

    private ServerProcess(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    /**
     * Starts {@code launcher serve --socket SOCKET extra...} and waits until it listens (its warm-up
     * included), at most {@code timeoutSeconds}; fails with what it said if it does not.
     */
    public static ServerProcess start(Path launcher, Path socket, long timeoutSeconds, String... extra)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "serve", "--socket", socket.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        ServerProcess s = new ServerProcess(p, socket);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    s.log.append(line).append('\n');
                }
            } catch (IOException ended) {
                // the server is gone
            }
        }, "fdrestore-server-log");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!s.log().contains("listening on " + socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                s.close();
                throw new IOException("fdrestore serve did not listen on " + socket + " within " + timeoutSeconds + " s:\n"
                        + s.log());
            }
            Thread.sleep(20);
        }
        return s;
    }

    public Path socket() {
        return socket;
    }

    public Process process() {
        return process;
    }

    public String log() {
        return log.toString();
    }

    /** Commands served so far: the server logs one line a command it ran ("... -> exit N in T ms"). */
    public int served() {
        return (int) log().lines().filter(l -> l.contains(" -> exit ")).count();
    }

    /** Waits up to {@code timeoutNanos} for more than {@code before} commands served; whether they were. */
    public boolean awaitServed(int before, long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (served() <= before) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    /** SIGTERM, then waits up to 30 s for the server to end (it removes its socket). */
    @Override
    public void close() {
        process.destroy();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
