package fdrestore.transport;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.KernelRandom;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
/**
 * The real {@link Transport} (DESIGN §6, seeds 002 and 004): one {@code SOCK_DGRAM} unix socket per task
 * table, bound to the abstract name {@code "\0fdrestore-<runid>-<pid>"}, carrying up to 253 fds a datagram
 * by SCM_RIGHTS. Every syscall runs in the task's own table ({@link TaskTable}); the endpoint is a
 * temporary fd of that table, and this class only remembers its number (per image pid).
 *
 * <p><b>Wire format</b> (little-endian): {@code u32 magic, u64 token, u32 count, count × u64 tag}, then
 * nothing. The i-th tag belongs to the i-th SCM_RIGHTS fd. The token is a secret random number of this
 * transport instance; unlike the run id, it never appears in a socket name (abstract names are listed in
 * {@code /proc/net/unix}), so a local process can not guess it from the outside.
 *
 * <p><b>Reach.</b> The endpoints are made in this JVM's private network namespace ({@link PrivateNet})
 * when it can have one (CAP_SYS_ADMIN): their names are then invisible and unreachable for every other
 * process, so nobody can flood them or bind them first. Otherwise they are abstract names of the host's
 * namespace ({@link #isolation()} says which), protected as follows.
 *
 * <p><b>Security.</b> Abstract names have no permissions. The endpoints have SO_PASSCRED on, and a
 * datagram is accepted only when the kernel says its sender is this JVM's pid, it was not truncated, its
 * magic and token match, its length is exactly that of {@code count} tags and it carried exactly
 * {@code count} fds. Anything else is dropped: every fd that came with it is closed, and it is counted
 * ({@link #dropped()}, {@link #dropReports()}). A process with CAP_SYS_ADMIN can forge SCM_CREDENTIALS, but
 * not the token.
 *
 * <p><b>Name collisions.</b> If an endpoint's name is already bound (a squatter, or a run id collision),
 * {@link #open} throws a {@link Transport.NameTaken} (errno EADDRINUSE) whose message says so; detect it with
 * {@link #isNameTaken(Throwable)} (which also looks through causes, e.g. the engine's RestoreException)
 * and retry the whole restore with a new transport ({@link #create()}).
 *
 * <p>Never blocks: sends use MSG_DONTWAIT (a full queue answers false), receives MSG_DONTWAIT. Thread-safe;
 * the engine may call it for different tables from different threads.
 */
public final class ScmTransport implements Transport {
    /** "FDRT" read as a little-endian u32. */
    static final int MAGIC = 0x54524446;
    /** Bytes before the tags. */
    static final int HEADER = 16;
    static final int OFF_MAGIC = 0;
    static final int OFF_TOKEN = 4;
    static final int OFF_COUNT = 12;
    /** The largest valid payload. */
    static final int MAX_PAYLOAD = HEADER + 8 * MAX_FDS;
    /** The receive buffer: larger than any valid payload, so a longer one shows as too long or truncated. */
    static final int RECV_BUFFER = MAX_PAYLOAD + 64;
    /** Socket buffer sizes asked for (the kernel doubles and caps them at net.core.[rw]mem_max). */
    static final int SOCKET_BUFFER = 1 << 20;
    /** Drop reports kept for {@link #dropReports()}. */
    static final int MAX_REPORTS = 32;

    private final String runId;
    private final long token;
    private final long selfPid;
    private final Map<Integer, Integer> endpoints = new ConcurrentHashMap<>();
    private final AtomicLong dropped = new AtomicLong();
    private final List<String> reports = new ArrayList<>();
    private volatile boolean closed;
    /** The JVM's private network namespace, or null: the endpoints are made in their tables, in the host's. */
    private final PrivateNet net;
    /** Why {@link #net} is null, for the report. */
    private final String hostReason;
    /** Sockets made in {@link #net} and not yet adopted: {@code spare[spareNext..spareEnd)} (guarded by this). */
    private int[] spare = new int[0];
    private int spareNext;
    private int spareChunk = 8;

    /**
     * A transport for run {@code runId} (see {@link TransportNames#checkRunId}), with its endpoints in
     * this JVM's private network namespace when it can have one ({@link PrivateNet}).
     */
    public ScmTransport(String runId) {
        this(runId, KernelRandom.nextLong(), ProcessHandle.current().pid(), PrivateNet.get());
    }

    /** For tests: a fixed token and the pid that counts as "this JVM"; endpoints in the host's namespace. */
    ScmTransport(String runId, long token, long selfPid) {
        this(runId, token, selfPid, null);
    }

    ScmTransport(String runId, long token, long selfPid, PrivateNet net) {
        this.runId = TransportNames.checkRunId(runId);
        this.token = token;
        this.selfPid = selfPid;
        this.net = net;
        String why = PrivateNet.unavailable();
        this.hostReason = net != null ? null : why != null ? why : "not asked for";
    }

    /**
     * True when the endpoints are in this JVM's private network namespace, out of every other process's
     * reach; false when they are abstract names of the host's namespace ({@link #isolation()} says why).
     */
    public boolean isolated() {
        return net != null;
    }

    /** Where the endpoints live, one line for the report. */
    public String isolation() {
        return net != null ? "private network namespace"
                : "host network namespace (abstract names others can see: " + hostReason + ")";
    }

    /** A transport with a fresh random run id ({@link TransportNames#newRunId()}). */
    public static ScmTransport create() {
        return new ScmTransport(TransportNames.newRunId());
    }

    /** The run id that names this transport's endpoints. */
    public String runId() {
        return runId;
    }

    /** The abstract name (without the leading NUL) of task {@code pid}'s endpoint. */
    public String endpointName(int pid) {
        return TransportNames.name(runId, pid);
    }

    /** The endpoint fd of task {@code pid} in its table, or -1 when it is not open. */
    public int endpointFd(int pid) {
        Integer fd = endpoints.get(pid);
        return fd == null ? -1 : fd;
    }

    /**
     * True when {@code t} (or one of its causes) is the failure of {@link #open} because the endpoint's
     * abstract name is already bound by someone else: retry with a new run id.
     */
    public static boolean isNameTaken(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof Transport.NameTaken) {
                return true;
            }
        }
        return false;
    }

    // ---- Transport --------------------------------------------------------------------------------

    @Override
    public void open(TaskTable table) throws SysException {
        if (closed) {
            throw new IllegalStateException("transport of run " + runId + " is closed");
        }
        int pid = table.pid();
        if (endpoints.containsKey(pid)) {
            throw new IllegalStateException("transport endpoint of task " + pid + " is already open");
        }
        String name = endpointName(pid);
        byte[] addr = TransportNames.address(runId, pid);
        int sock = net == null
                ? table.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, 0)
                : adoptSpare(table);
        try {
            if (!setUpInOneBatch(table, sock, addr, name)) {
                // Before bind, so every datagram that can reach the socket carries its sender's credentials.
                table.setsockopt(sock, Linux.SOL_SOCKET, Linux.SO_PASSCRED, intBytes(1));
                raiseBuffer(table, sock, Linux.SO_RCVBUF);
                raiseBuffer(table, sock, Linux.SO_SNDBUF);
                try {
                    table.bind(sock, addr);
                } catch (SysException e) {
                    throw nameTaken(e, sock, name);
                }
            }
        } catch (SysException | RuntimeException e) {
            try {
                table.close(sock);
            } catch (SysException | RuntimeException s) {
                e.addSuppressed(s);
            }
            throw e;
        }
        endpoints.put(pid, sock);
    }

    /**
     * A socket of the private namespace, copied into {@code table}: the JVM's copy is closed at once.
     * Sockets are made in chunks that double up to {@link PrivateNet#MAX_CHUNK}, so a restore of N tasks
     * costs about N / 256 hand-offs to the namespace's thread; what is left is closed by {@link #close()}.
     */
    private int adoptSpare(TaskTable table) throws SysException {
        int jvmFd;
        synchronized (this) {
            if (spareNext == spare.length) {
                spare = net.sockets(spareChunk);
                spareNext = 0;
                spareChunk = Math.min(PrivateNet.MAX_CHUNK, spareChunk * 2);
            }
            jvmFd = spare[spareNext++];
        }
        try {
            return table.adopt(jvmFd);
        } finally {
            Sys.closeQuietly(jvmFd);
        }
    }

    /**
     * SO_PASSCRED, both buffers and bind in one hand-off (a restore of 1,000 tasks made 4,000 hand-offs of
     * them one by one). False, with nothing done that matters, when the table cannot batch these calls or
     * a buffer could not be raised: the caller then makes them one by one, the buffers on a best-effort
     * basis. A failed SO_PASSCRED or bind is thrown as {@link #open} throws it.
     */
    private static boolean setUpInOneBatch(TaskTable table, int sock, byte[] addr, String name) throws SysException {
        Batch b;
        int buffers;
        int bind;
        try {
            b = table.batch();
            Batch.Ref s = b.fd(sock);
            b.setsockopt(s, Linux.SOL_SOCKET, Linux.SO_PASSCRED, intBytes(1));
            buffers = b.size();
            b.setsockopt(s, Linux.SOL_SOCKET, Linux.SO_RCVBUF, intBytes(SOCKET_BUFFER));
            b.setsockopt(s, Linux.SOL_SOCKET, Linux.SO_SNDBUF, intBytes(SOCKET_BUFFER));
            bind = b.size();
            b.bind(s, addr);
        } catch (UnsupportedOperationException e) {
            return false;
        }
        try {
            b.run();
            return true;
        } catch (SysException e) {
            int at = b.failedCall();
            if (at >= buffers && at < bind) {
                return false; // a buffer: again one by one, where it may stay small
            }
            throw nameTaken(e, sock, name);
        }
    }

    /** {@code e} of a failed bind: a taken name as {@link Transport.NameTaken}, anything else as it is. */
    private static SysException nameTaken(SysException e, int sock, String name) {
        if (e.errno() != Errno.EADDRINUSE) {
            return e;
        }
        SysException taken = new Transport.NameTaken("bind(" + sock + ", @" + name
                + "): the transport endpoint's abstract name is already taken by another socket"
                + " (a squatter or a run id collision); retry with a new run id", e.errno());
        taken.initCause(e);
        return taken;
    }

    /** Best effort: a smaller buffer only means fewer bytes queued, never a wrong restore. */
    private static void raiseBuffer(TaskTable table, int sock, int opt) {
        try {
            table.setsockopt(sock, Linux.SOL_SOCKET, opt, intBytes(SOCKET_BUFFER));
        } catch (SysException e) {
            // keep the default
        }
    }

    @Override
    public boolean send(TaskTable from, int toPid, int[] fds, long[] tags, int count) throws SysException {
        if (count < 1 || count > MAX_FDS) {
            throw new IllegalArgumentException("a message carries 1.." + MAX_FDS + " fds, not " + count);
        }
        if (fds.length < count || tags.length < count) {
            throw new IllegalArgumentException("count " + count + " exceeds the arrays (" + fds.length + " fds, "
                    + tags.length + " tags)");
        }
        int sock = endpoint(from);
        byte[] payload = encode(token, tags, count);
        return from.sendFds(sock, TransportNames.address(runId, toPid), payload, payload.length, fds, count)
                != TaskTable.AGAIN;
    }

    @Override
    public int receive(TaskTable table, int[] fds, long[] tags) throws SysException {
        if (fds.length < MAX_FDS || tags.length < MAX_FDS) {
            throw new IllegalArgumentException("receive needs room for " + MAX_FDS + " fds and tags");
        }
        int sock = endpoint(table);
        byte[] payload = new byte[RECV_BUFFER];
        int[] rx = new int[MAX_FDS];
        for (;;) {
            TaskTable.Received r = table.recvFds(sock, payload, rx);
            if (r.again()) {
                return -1;
            }
            String why = refuse(r, payload);
            if (why == null) {
                int n = r.fdCount();
                System.arraycopy(rx, 0, fds, 0, n);
                for (int i = 0; i < n; i++) {
                    tags[i] = getLong(payload, HEADER + 8 * i);
                }
                return n;
            }
            drop(table, r, rx, why);
        }
    }

    /** Why the datagram is refused, or null when it is a genuine message of this transport. */
    String refuse(TaskTable.Received r, byte[] payload) {
        if (r.senderPid() != selfPid) {
            return r.senderPid() < 0 ? "no sender credentials" : "sender pid " + r.senderPid() + " is not this JVM";
        }
        if (r.truncated()) {
            return "truncated (" + r.payloadLen() + " bytes)";
        }
        int len = r.payloadLen();
        if (len < HEADER) {
            return "too short (" + len + " bytes)";
        }
        if (getInt(payload, OFF_MAGIC) != MAGIC) {
            return "bad magic";
        }
        if (getLong(payload, OFF_TOKEN) != token) {
            return "bad token (another restore, or forged)";
        }
        int count = getInt(payload, OFF_COUNT);
        if (count < 1 || count > MAX_FDS) {
            return "bad count " + Integer.toUnsignedString(count);
        }
        if (len != HEADER + 8 * count) {
            return len + " bytes for " + count + " tags";
        }
        if (r.fdCount() != count) {
            return count + " tags but " + r.fdCount() + " fds";
        }
        return null;
    }

    private void drop(TaskTable table, TaskTable.Received r, int[] rx, String why) throws SysException {
        dropped.incrementAndGet();
        synchronized (reports) {
            if (reports.size() < MAX_REPORTS) {
                reports.add("task " + table.pid() + ": dropped a datagram from pid " + r.senderPid() + " uid "
                        + r.senderUid() + " with " + r.fdCount() + " fds: " + why);
            }
        }
        SysException first = null;
        for (int i = 0; i < r.fdCount(); i++) {
            try {
                table.close(rx[i]);
            } catch (SysException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public void close(TaskTable table) throws SysException {
        Integer sock = endpoints.remove(table.pid());
        if (sock != null) {
            table.close(sock);
        }
    }

    @Override
    public long dropped() {
        return dropped.get();
    }

    /** What was dropped and why (the first {@value #MAX_REPORTS} drops), for the report. */
    public List<String> dropReports() {
        synchronized (reports) {
            return List.copyOf(reports);
        }
    }

    /**
     * Forgets every endpoint: they are temporaries of their task tables, which close them (and so release
     * any fds still queued in them) when they close; closes the private namespace's sockets not yet adopted.
     */
    @Override
    public void close() {
        closed = true;
        endpoints.clear();
        synchronized (this) {
            while (spareNext < spare.length) {
                Sys.closeQuietly(spare[spareNext++]);
            }
        }
    }

    private int endpoint(TaskTable table) {
        Integer sock = endpoints.get(table.pid());
        if (sock == null) {
            throw new IllegalStateException("no transport endpoint for task " + table.pid()
                    + " (open(table) was not called, or it was closed)");
        }
        return sock;
    }

    // ---- encoding ---------------------------------------------------------------------------------

    static byte[] encode(long token, long[] tags, int count) {
        byte[] p = new byte[HEADER + 8 * count];
        putInt(p, OFF_MAGIC, MAGIC);
        putLong(p, OFF_TOKEN, token);
        putInt(p, OFF_COUNT, count);
        for (int i = 0; i < count; i++) {
            putLong(p, HEADER + 8 * i, tags[i]);
        }
        return p;
    }

    /** This instance's encoding of {@code tags[0, count)} (tests). */
    byte[] encode(long[] tags, int count) {
        return encode(token, tags, count);
    }

    static byte[] intBytes(int v) {
        byte[] b = new byte[4];
        putInt(b, 0, v);
        return b;
    }

    static void putInt(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    static long getLong(byte[] b, int off) {
        return (getInt(b, off) & 0xffffffffL) | (long) getInt(b, off + 4) << 32;
    }
}
