package fdrestore.app.serve;

import fdrestore.api.image.FdType;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.app.Cli;
import fdrestore.app.Invocation;
import fdrestore.app.Main;
import fdrestore.app.PluginHost;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine;

/**
 * The resident side of {@code fdrestore serve}: a warm JVM that runs the commands of
 * {@code bin/fdrestore}'s client ({@code lib/fdrestore-client}) as if they ran in the client's own
 * process. It gets the client's stdin, stdout and stderr (SCM_RIGHTS), directory, umask and environment;
 * it answers with the exit code; and it takes the client's Ctrl-C as the command's interruption.
 *
 * <p>One command runs at a time: the logging set-up, the process umask and pf4j's log level are the
 * JVM's, not a command's. A client that finds the server busy is told to run the command itself, and so
 * is one that asks for a command not served here ({@link #SERVED}), or that belongs to another
 * installation. Only clients of the server's own user are served (SO_PEERCRED), on a socket only that
 * user can reach.
 *
 * <p>Root tasks a served restore leaves running (--then=detach) are the server's children: it reaps
 * them when they end, where a direct run would have left that to init.
 */
public final class Server implements AutoCloseable {
    /** The commands a server runs; the others (dump, bench, serve) always run in their own JVM. */
    static final Set<String> SERVED = Set.of("fdrestore", "restore", "show", "check", "graph", "plugins", "help");

    private static final int SO_RCVTIMEO = 20;
    private static final int SO_ACCEPTCONN = 30;

    private final Path socket;
    private final String home;
    private final PrintWriter log;
    private final int euid = Sys.geteuid();
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger served = new AtomicInteger();
    private final Set<Integer> adopted = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile int listenFd = -1;
    private volatile boolean activated;
    /** A warm-up restore holds {@link #busy}: a client waits for it rather than run itself. */
    private volatile boolean warmingUp;
    /** The plugins of the folder last asked for, kept loaded between commands (only one command runs at a time). */
    private PluginHost plugins;
    private String pluginsSignature;
    private Object boundKey;

    /**
     * @param home the installation served (a request from another is told to run itself); null serves any
     * @param log  where the server says what it does: one line a request
     */
    Server(Path socket, String home, PrintWriter log) {
        this.socket = socket.toAbsolutePath();
        this.home = home;
        this.log = log;
    }

    /**
     * The default socket: /run/fdrestore/fdrestore.sock for root, else $XDG_RUNTIME_DIR/fdrestore/ or
     * /tmp/fdrestore-UID/. The client computes the same path.
     */
    public static Path defaultSocket(Map<String, String> env) {
        int uid = Sys.geteuid();
        if (uid == 0) {
            return Path.of("/run/fdrestore/fdrestore.sock");
        }
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null && xdg.startsWith("/")) {
            return Path.of(xdg, "fdrestore", "fdrestore.sock");
        }
        return Path.of("/tmp/fdrestore-" + uid, "fdrestore.sock");
    }

    Path socket() {
        return socket;
    }

    /** Requests served so far (run here, whatever their exit code). */
    int served() {
        return served.get();
    }

    /**
     * Binds and listens. The socket's directory is made private to this user if it does not exist, and
     * refused if another user owns it or others may write in it; a stale socket (nobody listening) is
     * replaced, a live one is an error.
     */
    void listen() throws IOException, Cli.UsageException {
        Path dir = socket.getParent();
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || owner != euid || (mode & 022) != 0) {
            throw new Cli.UsageException("serve: " + dir + " must be a directory of uid " + euid
                    + " that others cannot write (it is uid " + owner + ", mode " + Integer.toOctalString(mode & 07777) + ")");
        }
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                throw new Cli.UsageException("serve: " + socket + " exists and is not a socket");
            }
            if (answers(socket)) {
                throw new Cli.UsageException("serve: a server already listens on " + socket);
            }
            Files.delete(socket); // stale: its server is gone
        }
        try {
            int fd = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
            int mask = Sys.umask(077); // the socket is made rw------- from the start
            try {
                Sys.bind(fd, Sys.unixPathAddress(socket.toString()));
            } catch (SysException | IllegalArgumentException e) {
                Sys.closeQuietly(fd);
                throw new Cli.UsageException("serve: cannot bind " + socket + ": " + e.getMessage());
            } finally {
                Sys.umask(mask);
            }
            Sys.listen(fd, 64);
            listenFd = fd;
            boundKey = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (SysException e) {
            throw new IOException("serve: " + e.getMessage(), e);
        }
        Thread reaper = new Thread(this::reap, "fdrestore-serve-reaper");
        reaper.setDaemon(true);
        reaper.start();
    }

    /** Whether a server listens on {@code path}. */
    static boolean answers(Path path) {
        int fd = -1;
        try {
            fd = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
            return Sys.connect(fd, Sys.unixPathAddress(path.toString()));
        } catch (SysException | IllegalArgumentException e) {
            return false;
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    /**
     * Serves on a listening socket that was passed in (socket activation) instead of binding one: it must
     * be a listening AF_UNIX stream socket. It is made close-on-exec (systemd passes it without), so that
     * no restored task inherits it, and it is left in place at {@link #close}: its unit owns it.
     */
    void adopt(int fd) throws IOException, Cli.UsageException {
        try {
            int type = Sys.getsockoptInt(fd, Linux.SOL_SOCKET, Linux.SO_TYPE);
            int listening = Sys.getsockoptInt(fd, Linux.SOL_SOCKET, SO_ACCEPTCONN);
            if (type != Linux.SOCK_STREAM || listening == 0 || !SocketActivation.isUnix(Sys.getsockname(fd))) {
                throw new Cli.UsageException("serve: fd " + fd + " from socket activation is not a listening unix stream "
                        + "socket (ListenStream= of a path in fdrestore.socket)");
            }
            Sys.fcntl(fd, Linux.F_SETFD, Linux.FD_CLOEXEC);
        } catch (SysException e) {
            throw new Cli.UsageException("serve: fd " + fd + " from socket activation: " + e.getMessage());
        }
        listenFd = fd;
        activated = true;
        Thread reaper = new Thread(this::reap, "fdrestore-serve-reaper");
        reaper.setDaemon(true);
        reaper.start();
    }

    /** Whether the listening socket was passed in by socket activation. */
    boolean activated() {
        return activated;
    }

    /**
     * Runs {@code task} (a warm-up restore) if no command runs now, as a command would: alone. A client
     * that arrives meanwhile waits for it to end instead of being told to run itself. False: a command
     * runs, the task did not.
     */
    boolean whenIdle(Runnable task) {
        if (connections.get() > 0 || !busy.compareAndSet(false, true)) {
            return false;
        }
        warmingUp = true;
        try {
            task.run();
        } finally {
            warmingUp = false;
            busy.set(false);
        }
        return true;
    }

    /** Accepts clients until {@link #close}; each one is handled on its own thread. */
    void serve() {
        while (!closed) {
            int conn;
            try {
                conn = Sys.accept(listenFd);
            } catch (SysException e) {
                if (closed) {
                    break;
                }
                say("accept failed: " + e.getMessage());
                continue;
            }
            connections.incrementAndGet();
            Thread t = new Thread(() -> {
                try {
                    handle(conn);
                } finally {
                    Sys.closeQuietly(conn);
                    connections.decrementAndGet();
                }
            }, "fdrestore-serve-client");
            t.start();
        }
    }

    /** Stops listening and removes the socket (if it is still the one bound here). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int fd = listenFd;
        if (fd >= 0) {
            try {
                // wakes the accept; not on a passed-in socket, whose unit keeps it for the next activation:
                // the shutdown would be the unit's too (the process just exits then)
                if (!activated) {
                    Sys.shutdown(fd, 2);
                }
            } catch (SysException ignored) {
                // not listening yet
            }
            Sys.closeQuietly(fd);
        }
        synchronized (this) {
            if (plugins != null) {
                plugins.close();
                plugins = null;
            }
        }
        try {
            if (boundKey != null && boundKey.equals(Files.readAttributes(socket, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey())) {
                Files.delete(socket);
            }
        } catch (IOException gone) {
            // removed already
        }
    }

    private void handle(int conn) {
        // every fd a message brought, as soon as it is here: closed at the end unless the command took them
        List<Integer> received = new java.util.ArrayList<>();
        try {
            int[] cred = Sys.peerCredentials(conn);
            if (cred[1] != euid) {
                say("refused pid " + cred[0] + ": uid " + cred[1] + " is not the server's (" + euid + ")");
                ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
                return;
            }
            // a client that connects and says nothing does not keep its thread for ever
            Sys.setsockopt(conn, Linux.SOL_SOCKET, SO_RCVTIMEO, ClientConnection.timeval(10));
            byte[] header = new byte[ServeRequest.HEADER];
            ClientConnection.readFully(conn, header, received);
            byte[] body = new byte[ServeRequest.bodyLength(header)];
            ClientConnection.readFully(conn, body, received);
            ServeRequest req = ServeRequest.decode(body);
            if (!received.isEmpty()) {
                throw new ServeRequest.BadRequest("fds come with the client's G, not with its request");
            }
            if (home != null && !home.equals(req.home())) {
                say("pid " + cred[0] + " belongs to " + req.home() + ", not to " + home + ": told to run itself");
                ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
                return;
            }
            if (!servable(req.args())) {
                ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
                return;
            }
            if (!busy.compareAndSet(false, true) && !afterWarmUp()) {
                say("pid " + cred[0] + ": busy, told to run itself");
                ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
                return;
            }
            int code;
            try {
                // "A": taken. The client answers "G", with its fds 0, 1 and 2, if it still waits for this
                // server (it gives up after a few seconds and runs the command itself): so a command never
                // runs twice, and a server that does not answer never holds the client's fds.
                ClientConnection.send(conn, ServeRequest.ACCEPT, 0);
                byte[] go = new byte[ServeRequest.MESSAGE];
                try {
                    ClientConnection.readFully(conn, go, received);
                } catch (ServeRequest.BadRequest gone) {
                    go[0] = 0;
                }
                if (go[0] != ServeRequest.GO) {
                    say("pid " + cred[0] + ": gave up before the start, runs the command itself");
                    return;
                }
                if (received.size() != 3) {
                    say("bad request: expected the client's fds 0, 1 and 2 with its G, got " + received.size() + " fds");
                    ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
                    return;
                }
                Sys.setsockopt(conn, Linux.SOL_SOCKET, SO_RCVTIMEO, ClientConnection.timeval(0));
                int[] stdio = received.stream().mapToInt(Integer::intValue).toArray();
                received.clear(); // run closes them, before the answer: the client's pipes see their end first
                code = run(conn, cred[0], req, stdio);
            } finally {
                busy.set(false);
            }
            ClientConnection.send(conn, ServeRequest.EXIT, code);
            // The client has its answer: collect the command's garbage now, while idle, so that the server's
            // footprint between commands is its live set, and the next command does not pay for this one's.
            System.gc();
        } catch (ServeRequest.BadRequest e) {
            say("bad request: " + e.getMessage());
            ClientConnection.send(conn, ServeRequest.FALLBACK, 0);
        } catch (SysException e) {
            say("client lost: " + e.getMessage());
        } finally {
            for (int fd : received) {
                Sys.closeQuietly(fd);
            }
        }
    }

    /** Takes {@link #busy} once the warm-up restore that holds it ends (within 2 s); false if a command holds it. */
    private boolean afterWarmUp() {
        long until = System.nanoTime() + 2_000_000_000L;
        while (warmingUp && System.nanoTime() < until) {
            if (busy.compareAndSet(false, true)) {
                return true;
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return busy.compareAndSet(false, true);
    }

    /**
     * An invocation of the server's own (its warm-up): no client, no directory of its own, but the server's
     * shared plugins, so that their code is compiled before the first client too.
     */
    Invocation ownInvocation() {
        return new Served(null, Map.of(), false);
    }

    /** Whether the command line names a command served here (a line that does not parse is: it only prints usage). */
    static boolean servable(List<String> args) {
        try {
            String[] a = args.toArray(String[]::new);
            CommandLine.ParseResult pr = Cli.commandLine(new Invocation(Path.of("/"), Map.of(), false), a).parseArgs(a);
            while (pr.hasSubcommand()) {
                pr = pr.subcommand();
            }
            if (pr.hasMatchedOption("--shell-job") || pr.hasMatchedOption("--inherit-fd")) {
                return false; // the caller's own session, terminal and fds: only a direct run has them
            }
            return SERVED.contains(pr.commandSpec().name());
        } catch (CommandLine.ParameterException e) {
            CommandLine bad = e.getCommandLine();
            return bad == null || SERVED.contains(bad.getCommandName());
        }
    }

    /** Runs one command on its own thread while this one watches the client; returns its exit code. */
    private int run(int conn, int clientPid, ServeRequest req, int[] stdio) {
        long start = System.nanoTime();
        Map<Integer, String> fdsBefore = connections.get() == 1 ? openFds() : null;
        Served inv = new Served(Path.of(req.cwd()), req.env(), Sys.isatty(stdio[0]) && Sys.isatty(stdio[1]),
                Sys.isatty(stdio[2]));
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FdOutputStream(stdio[1]), StandardCharsets.UTF_8));
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FdOutputStream(stdio[2]), StandardCharsets.UTF_8));
        int[] code = {Cli.EXIT_FAILED};
        int mask = Sys.umask(req.umask());
        try {
            ClientConnection.runWatched(conn, inv, () -> {
                try {
                    code[0] = Main.run(inv, out, err, req.args().toArray(String[]::new));
                } catch (RuntimeException | Error e) {
                    err.println("fdrestore: internal error in the server: " + e);
                } finally {
                    out.flush();
                    err.flush();
                }
            });
        } finally {
            Sys.umask(mask);
            for (int fd : stdio) {
                Sys.closeQuietly(fd);
            }
        }
        String line = "pid " + clientPid + ": " + String.join(" ", req.args()) + " -> exit " + code[0]
                + String.format(" in %.1f ms", (System.nanoTime() - start) / 1e6)
                + (inv.signal() != 0 ? " (signal " + inv.signal() + ")" : "");
        if (fdsBefore != null && connections.get() == 1) {
            // the client's stdio, open before and closed since, are not in the difference
            // An fd counts when its number is new or now refers to something else: a number freed by
            // another thread meanwhile (a cleaner closing a stream) may have been reused by the command.
            List<String> left = new java.util.ArrayList<>();
            try {
                fdrestore.api.sys.FdLeaks.gainedSince(fdsBefore).forEach((fd, target) -> left.add(fd + " (" + target + ")"));
            } catch (SysException cannotList) {
                // no check this time
            }
            if (!left.isEmpty()) {
                line += "; WARNING: the command left " + left.size() + " fd(s) open here: " + left;
            }
        }
        say(line);
        served.incrementAndGet();
        return code[0];
    }

    /** This process's open fds and what each refers to; null if they cannot be listed (no check then). */
    private static Map<Integer, String> openFds() {
        try {
            return Sys.fdTargets();
        } catch (SysException e) {
            return null;
        }
    }

    private void say(String what) {
        synchronized (log) {
            log.println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " " + what);
            log.flush();
        }
    }

    /** Reaps the detached root tasks of served restores as they end. */
    private void reap() {
        while (!closed) {
            for (Integer pid : adopted) {
                try {
                    if (Sys.waitpid(pid, 1 /* WNOHANG */) != null) {
                        adopted.remove(pid);
                    }
                } catch (SysException notOurs) {
                    adopted.remove(pid); // ECHILD: a holder's child, reaped by its parent
                }
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A served command's invocation: the client's directory, environment and signals. */
    private final class Served extends Invocation {
        Served(Path cwd, Map<String, String> env, boolean terminal) {
            this(cwd, env, terminal, false);
        }

        Served(Path cwd, Map<String, String> env, boolean terminal, boolean stderrTerminal) {
            super(cwd, env, terminal, stderrTerminal);
        }

        @Override
        public void leaveRunning(List<Integer> pids) {
            adopted.addAll(pids);
        }

        @Override
        public PluginHost plugins(List<Path> dir) {
            String sig = PluginHost.signature(dir);
            synchronized (Server.this) {
                if (plugins == null || !sig.equals(pluginsSignature)) {
                    if (plugins != null) {
                        plugins.close();
                    }
                    plugins = PluginHost.load(dir);
                    pluginsSignature = sig;
                }
                return plugins.borrowed();
            }
        }

        @Override
        public PluginHost plugins(List<Path> dirs, Set<FdType> types) {
            return plugins(dirs); // loaded once, all of them
        }
    }
}
