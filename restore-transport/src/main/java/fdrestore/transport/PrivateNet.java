package fdrestore.transport;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A network namespace of this JVM's own, where the transport's sockets are made (issue 23, item 3).
 *
 * <p>Abstract unix names live in the network namespace of the socket, which is the namespace of the
 * thread that created it; later calls on the socket, from any table, keep using it. One daemon thread of
 * this JVM ({@value #THREAD}) leaves the host's namespace once with {@code unshare(CLONE_NEWNET)} and then
 * only makes {@code AF_UNIX} datagram sockets in this JVM's table, which the transport adopts into the
 * task tables. No process of another user can enter that namespace (setns needs CAP_SYS_ADMIN over it),
 * so nobody else can see the names in {@code /proc/net/unix}, send to them, or bind them first. The
 * restored processes never run in it: they are spawned by the executor threads, which stay in the host's
 * namespace, and the transport sockets are closed before the tasks are released.
 *
 * <p>Without CAP_SYS_ADMIN (a restore as an ordinary user) the unshare fails; {@link #get()} then says why
 * and the transport binds its names in the host's namespace as before, where only the token and the
 * sender check protect it. {@code FDRESTORE_TRANSPORT_NETNS=off} (or the system property
 * {@code fdrestore.transport.netns=off}) asks for that fallback on purpose.
 */
final class PrivateNet {
    static final String THREAD = "fdrestore-transport-netns";
    static final int CLONE_NEWNET = 0x40000000;
    /** The most sockets made in one hand-off to the namespace's thread. */
    static final int MAX_CHUNK = 256;

    private static final Object LOCK = new Object();
    private static PrivateNet instance;
    private static String unavailable;

    private final ExecutorService thread;

    private PrivateNet(ExecutorService thread) {
        this.thread = thread;
    }

    /** The JVM's private namespace, made on first use; null when it can not be had ({@link #unavailable()}). */
    static PrivateNet get() {
        if (disabled()) {
            return null;
        }
        synchronized (LOCK) {
            if (instance == null && unavailable == null) {
                start();
            }
            return instance;
        }
    }

    /** Why {@link #get()} gives no private namespace, or null when it gives one (or was not asked yet). */
    static String unavailable() {
        if (disabled()) {
            return "disabled by FDRESTORE_TRANSPORT_NETNS=off";
        }
        synchronized (LOCK) {
            return unavailable;
        }
    }

    static boolean disabled() {
        String v = System.getProperty("fdrestore.transport.netns", System.getenv("FDRESTORE_TRANSPORT_NETNS"));
        return v != null && (v.toLowerCase(Locale.ROOT).equals("off") || v.equals("0") || v.equalsIgnoreCase("false"));
    }

    private static void start() {
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, THREAD);
            t.setDaemon(true);
            return t;
        });
        try {
            ex.submit(() -> {
                Sys.unshare(CLONE_NEWNET);
                return null;
            }).get();
            instance = new PrivateNet(ex);
        } catch (ExecutionException e) {
            ex.shutdownNow();
            Throwable c = e.getCause();
            unavailable = c instanceof SysException ? c.getMessage() : String.valueOf(c);
        } catch (InterruptedException e) {
            ex.shutdownNow();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while making the transport's network namespace", e);
        }
    }

    /**
     * {@code n} non-blocking, close-on-exec {@code AF_UNIX SOCK_DGRAM} sockets in this JVM's table, made in
     * the private namespace. The caller owns (and closes) them. On failure none is left open.
     */
    int[] sockets(int n) throws SysException {
        Future<int[]> f = thread.submit(() -> {
            int[] out = new int[n];
            int made = 0;
            try {
                for (; made < n; made++) {
                    out[made] = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, 0);
                }
                return out;
            } catch (SysException | RuntimeException e) {
                for (int i = 0; i < made; i++) {
                    Sys.closeQuietly(out[i]);
                }
                throw e;
            }
        });
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SysException se) {
                throw se;
            }
            throw new IllegalStateException("making transport sockets: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            // the sockets, if made, are closed when the task ends: wait for it without being interrupted
            Thread.currentThread().interrupt();
            try {
                int[] made = getUninterruptibly(f);
                for (int fd : made) {
                    Sys.closeQuietly(fd);
                }
            } catch (ExecutionException ignored) {
                // none left open
            }
            throw new IllegalStateException("interrupted while making transport sockets", e);
        }
    }

    private static <T> T getUninterruptibly(Future<T> f) throws ExecutionException {
        boolean interrupted = false;
        try {
            for (;;) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The tid of the namespace's thread ({@code /proc/self/task/TID/net/unix} lists its names), for tests. */
    long threadId() throws SysException {
        try {
            return thread.submit(() -> (long) Sys.gettid()).get();
        } catch (ExecutionException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
