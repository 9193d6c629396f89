package fdrestore.core.dump;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A live process tree for dump tests: {@code python3 -c SCRIPT}, which builds its fds, prints "ready"
 * (with its children's pids) and then obeys one-line commands on stdin ("close N" closes fd N, "exit"
 * ends it). {@link #close()} kills the whole tree, descendants first.
 */
final class Tree implements AutoCloseable {
    static final String PYTHON = new File("/usr/bin/python3").canExecute() ? "/usr/bin/python3" : "python3";

    /**
     * Prepended to every script: the JVM's child forks the tree's root and waits for it, so the tree is not
     * the JVM's child (the JVM's process reaper would take a ptrace stop of its child for an exit); then
     * setsid and the command loop helper.
     */
    static final String PRELUDE = String.join("\n",
            "import os, sys, time, select",
            "if os.fork() != 0:",
            "    os.wait()",
            "    os._exit(0)",
            "print('pid', os.getpid(), flush=True)",
            "os.setsid()",
            "def serve(extra=''):",
            "    print('ready ' + extra, flush=True)",
            "    for line in sys.stdin:",
            "        w = line.split()",
            "        if not w: continue",
            "        if w[0] == 'close': os.close(int(w[1])); print('closed', flush=True)",
            "        if w[0] == 'exit': os._exit(0)",
            "        if w[0] == 'ping': print('pong', flush=True)",
            "    time.sleep(1000)",
            "");

    /** The JVM's child, parent of the tree's root. */
    final Process process;
    final String ready;
    private final int root;
    private final BufferedReader out;
    private final OutputStream in;

    private Tree(Process p) throws IOException {
        this.process = p;
        this.out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        this.in = p.getOutputStream();
        String first = out.readLine();
        if (first == null || !first.startsWith("pid ")) {
            p.destroyForcibly();
            throw new IOException("scenario did not start: " + first);
        }
        this.root = Integer.parseInt(first.substring(4).strip());
        String line = out.readLine();
        if (line == null || !line.startsWith("ready")) {
            p.destroyForcibly();
            throw new IOException("scenario did not start: " + line);
        }
        this.ready = line;
    }

    static Tree start(String script) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(PYTHON, "-c", PRELUDE + script);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        return new Tree(pb.start());
    }

    /** The tree's root. */
    int pid() {
        return root;
    }

    /** Sends one command and waits for its one-line answer. */
    String command(String line) throws IOException {
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        return out.readLine();
    }

    /** Every pid of the tree, root first. */
    List<Integer> pids() {
        List<Integer> out = new ArrayList<>();
        out.add(pid());
        process.descendants().filter(h -> h.pid() != root).forEach(h -> out.add((int) h.pid()));
        return out;
    }

    @Override
    public void close() {
        List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
        for (ProcessHandle h : all) {
            h.destroyForcibly();
        }
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Close the pipes now rather than leave them to the Cleaner (which would change the JVM's fd table later).
        for (java.io.Closeable c : new java.io.Closeable[] {process.getInputStream(), process.getOutputStream(),
                process.getErrorStream()}) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
