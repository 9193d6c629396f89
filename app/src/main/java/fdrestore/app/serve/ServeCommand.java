package fdrestore.app.serve;

import fdrestore.app.Cli;
import fdrestore.app.Invocation;
import fdrestore.app.Main;
import fdrestore.app.bench.BenchCommand;
import fdrestore.app.bench.SyntheticImages;
import fdrestore.core.runtime.ExecutorPool;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code fdrestore serve}: a resident, warmed-up JVM that runs the commands of bin/fdrestore. */
@Command(name = "serve", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Keeps a warmed-up fdrestore running and serves the commands restore, show, check, graph and",
            "plugins of bin/fdrestore: the launcher's client (lib/fdrestore-client) hands its command line,",
            "directory, umask, environment and stdin/stdout/stderr to the server and exits with its exit",
            "code, so a restore skips the JVM start (about 0.4 s). Its Ctrl-C is forwarded: a served",
            "restore stops as a direct one would. With no server, a busy one, or another installation's,",
            "the client runs the command itself. Set FDRESTORE_SERVER=off to never use a server.",
            "Runs in the foreground and logs one line a command on stdout; SIGTERM or Ctrl-C stops it.",
            "Only the server's own user is served, on a socket only that user can reach.",
            "",
            "Socket activation: started by systemd with its socket (share/systemd/fdrestore.socket, fd 3,",
            "LISTEN_FDS=1 and LISTEN_PID), it serves on that socket at once and warms up between commands:",
            "the first client starts the server, the later ones are served warm.",
            "",
            "Restored tasks are the server's children instead of the command's: with --then=detach they",
            "keep running after the command, and the server reaps them when they end. Their directory,",
            "when the images record none, is the client's."},
        footer = {"%nExamples:",
            "  fdrestore serve &                      # then, as before:",
            "  fdrestore restore --detach DIR",
            "  fdrestore serve --socket /tmp/fdr.sock &",
            "  FDRESTORE_SOCKET=/tmp/fdr.sock fdrestore show DIR",
            "%nExit codes: 2 the socket cannot be made (a server already listens, or its directory is unsafe);",
            "else the server runs until a signal stops it (SIGTERM: 143, Ctrl-C: 130), which removes its socket."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "The socket to listen on (default: FDRESTORE_SOCKET, else /run/fdrestore/fdrestore.sock for "
                    + "root, $XDG_RUNTIME_DIR/fdrestore/fdrestore.sock or /tmp/fdrestore-UID/fdrestore.sock for others). "
                    + "The client looks in the same places.")
    Path socket;

    @Option(names = "--warm-up", paramLabel = "N", defaultValue = "30",
            description = "Restores of a generated 8-task, 512-fd image set (stopped at once) run before listening, so "
                    + "that the first served restore is already compiled. 0 skips it. Default: ${DEFAULT-VALUE}.")
    int warmUps;

    @Option(names = "--keep-executors", paramLabel = "N", defaultValue = "4096",
            description = "Executor threads kept between restores, at most (one serves each task of a restore; a kept "
                    + "one waits with an empty fd table, for up to 5 minutes, and spares the next restore its start). "
                    + "0 keeps none. Default: ${DEFAULT-VALUE}.")
    int keepExecutors;

    /** How long a kept executor waits for a restore before it ends. */
    private static final Duration EXECUTOR_IDLE = Duration.ofMinutes(5);

    @Override
    public Integer call() throws Exception {
        if (warmUps < 0) {
            throw new Cli.UsageException("--warm-up must be 0 or more: " + warmUps);
        }
        if (keepExecutors < 0) {
            throw new Cli.UsageException("--keep-executors must be 0 or more: " + keepExecutors);
        }
        PrintWriter out = spec.commandLine().getOut();
        Map<String, String> env = Cli.invocation(spec).env();
        Path path = socket != null ? socket
                : env.get("FDRESTORE_SOCKET") != null ? Path.of(env.get("FDRESTORE_SOCKET")) : Server.defaultSocket(env);
        String home = System.getProperty("fdrestore.home");
        Server server = new Server(path, home != null ? Path.of(home).toRealPath().toString() : null, out);
        fdrestore.core.runtime.TaskRuntime.warmUpInBackground();
        ExecutorPool.keep(keepExecutors, EXECUTOR_IDLE);
        int inherited = SocketActivation.inheritedListener(env);
        if (inherited >= 0) {
            // Socket activation (share/systemd/fdrestore.socket): a client is waiting, the one whose connect
            // started this server. Serve at once; the warm-up runs between commands, never in one's way.
            server.adopt(inherited);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "fdrestore-serve-stop"));
            out.printf("fdrestore serve: listening on fd %d from socket activation (pid %d)%n", inherited,
                    ProcessHandle.current().pid());
            out.flush();
            if (warmUps > 0) {
                Thread w = new Thread(() -> warmUpWhenIdle(server, out), "fdrestore-serve-warm-up");
                w.setDaemon(true);
                w.start();
            }
            server.serve();
            return Cli.EXIT_OK;
        }
        if (warmUps > 0) {
            long t0 = System.nanoTime();
            warmUp(warmUps, server.ownInvocation());
            out.printf("fdrestore serve: warmed up with %d restores in %.1f s%n", warmUps, (System.nanoTime() - t0) / 1e9);
        }
        server.listen();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "fdrestore-serve-stop"));
        out.printf("fdrestore serve: listening on %s (pid %d)%n", server.socket(), ProcessHandle.current().pid());
        out.flush();
        server.serve();
        return Cli.EXIT_OK;
    }

    /** The warm-up of an activated server: each restore runs only while no command does. */
    private void warmUpWhenIdle(Server server, PrintWriter out) {
        long t0 = System.nanoTime();
        try {
            warmUp(warmUps, server.ownInvocation(), step -> {
                while (!server.whenIdle(step)) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            });
            out.printf("fdrestore serve: warmed up with %d restores in %.1f s, between commands%n", warmUps,
                    (System.nanoTime() - t0) / 1e9);
            out.flush();
        } catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().println("fdrestore serve: warm-up stopped, serving without it: " + e.getMessage());
        }
    }

    private void warmUp(int n, Invocation quiet) throws IOException {
        warmUp(n, quiet, Runnable::run);
    }

    /**
     * Restores a generated set {@code n} times, output discarded, so that the JIT has compiled the engine,
     * the plugins and the verifier before the first client. A warm-up that fails says so and stops: the
     * server still serves, only colder.
     */
    private void warmUp(int n, Invocation quiet, java.util.function.Consumer<Runnable> step) throws IOException {
        Path tmp = Files.createTempDirectory("fdrestore-warm-up");
        try {
            Path images = tmp.resolve("images");
            Path root = tmp.resolve("root");
            SyntheticImages.write(SyntheticImages.Spec.parse("8x64"), images, root);
            PrintWriter sink = new PrintWriter(Writer.nullWriter());
            step.accept(() -> Main.run(quiet, sink, sink, "show", images.toString()));
            for (int i = 0; i < n; i++) {
                java.io.StringWriter err = new java.io.StringWriter();
                int[] exit = {Cli.EXIT_OK};
                step.accept(() -> exit[0] = Main.run(quiet, sink, new PrintWriter(err), "restore", "--root", root.toString(),
                        "--verify", "--then=kill", images.toString()));
                int code = exit[0];
                if (code != Cli.EXIT_OK) {
                    spec.commandLine().getErr().println("fdrestore serve: warm-up restore failed (exit " + code + "), "
                            + "serving without it: " + err.toString().strip());
                    break;
                }
            }
        } finally {
            try {
                BenchCommand.deleteTree(tmp);
            } catch (IOException leftBehind) {
                // a temporary set left in the temp directory is no reason not to serve
            }
        }
    }
}
