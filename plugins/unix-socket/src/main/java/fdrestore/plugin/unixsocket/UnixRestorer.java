package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.Journal;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.unixsocket.SockPlan.Pair;
import fdrestore.plugin.unixsocket.SockPlan.QueueJob;
import fdrestore.plugin.unixsocket.SockPlan.QueueMode;
import fdrestore.plugin.unixsocket.SockPlan.Role;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Restores one unix socket by its {@link SockPlan}, in steps that may each answer Again:
 * <ol>
 * <li><b>create</b>: socket() + options + bind of its own name (signals {@code unix-bound:<ino>}); a
 * listener listens, makes its accepted connections (connect + accept, handed to their masters) and only
 * then signals {@code unix-listening:<ino>}; a pair's creator makes both ends and hands the other one off;
 * a handed end takes its fd; an orphan re-queues its data from a socketpair end it then closes;</li>
 * <li><b>connect</b> to its peer once the peer is bound (datagram) or listening (unaccepted client);</li>
 * <li><b>queue</b>: re-sends the packets it is the queuer of, once the files they pass are OPEN in this
 * task, then signals {@code unix-queued:<receiver ino>};</li>
 * <li><b>finish</b>: once every peer that connects or sends to its deleted name did (signals
 * {@code unix-reached:<ino>:<peer ino>}), releases that name ({@link DeletedName}); waits for its own
 * queue, shuts down, sets the file flags.</li>
 * </ol>
 * Sockets are made with SOCK_NONBLOCK so no step blocks; the image's flags are set last. On any failure
 * the temporaries of the call are closed and every socket file it bound is unlinked; {@link #abort()} does
 * the same for an abort caused by another file.
 */
final class UnixRestorer implements FileRestorer {
    static final int AF_UNIX = 1;
    static final int SOCK_NONBLOCK = 04000;
    static final int F_SETFL = 4;

    private enum Step { CREATE, CONNECT, QUEUE, FINISH }

    final SockPlan plan;
    final UnixSock me;
    private Step step = Step.CREATE;
    /** Socket files this restorer bound and still owns (removed on failure or abort). */
    final List<SockPath> created = new ArrayList<>();
    private final RestoreNames names;
    /** Its own deleted path name while it is bound (released once its peers reached it, or on abort). */
    private DeletedName deletedName;
    /** Where the socket files and directories this restorer makes are recorded before they are made. */
    volatile Journal journal = Journal.NONE;
    /** Makes the connected pair when this socket is its creator, and the connections a listener accepts. */
    private final PairMaker pairs = new PairMaker(this);
    /** Re-sends the queues this socket is the queuer of. */
    private final QueueSender queues = new QueueSender(this);

    UnixRestorer(SockPlan plan) {
        this(plan, new RestoreNames());
    }

    UnixRestorer(SockPlan plan, RestoreNames names) {
        this.plan = plan;
        this.me = plan.sock;
        this.names = names;
    }

    static String bound(long ino) {
        return "unix-bound:" + ino;
    }

    static String listening(long ino) {
        return "unix-listening:" + ino;
    }

    static String queued(long ino) {
        return "unix-queued:" + ino;
    }

    /** {@code user} connected or sent to the deleted name of socket {@code ino}. */
    static String reached(long ino, long user) {
        return "unix-reached:" + ino + ":" + user;
    }

    SockPlan plan() {
        return plan;
    }

    @Override
    public List<Dependency> dependencies() {
        Set<Dependency> deps = new LinkedHashSet<>();
        if (plan.role == Role.HANDED) {
            deps.add(Dependency.beforeOpen(plan.creatorFile, Stage.OPEN, me + " is made by file " + plan.creatorFile
                    + " (" + (plan.pair != null ? plan.pair : "") + ")"));
        }
        if (plan.connectTo != null && plan.connectTo.id() != me.id()) {
            deps.add(Dependency.beforeDone(plan.connectTo.id(), Stage.OPEN, me + " connects to " + plan.connectTo));
        }
        for (QueueJob j : plan.queues) {
            if (j.mode() == QueueMode.SENDTO && j.receiver().id() != me.id()) {
                deps.add(Dependency.beforeDone(j.receiver().id(), Stage.OPEN, me + " re-sends the queue of "
                        + j.receiver()));
            }
            for (Packet p : j.packets()) {
                for (long f : p.rights()) {
                    if (f != me.id()) {
                        deps.add(Dependency.beforeDone(f, Stage.OPEN, "the queue of " + j.receiver()
                                + " passes file " + f + " (SCM_RIGHTS)").inSameTask());
                    }
                }
            }
        }
        if (me.shutdown() != 0 && plan.queuedBy != null && plan.queuedBy.id() != me.id()) {
            deps.add(Dependency.beforeDone(plan.queuedBy.id(), Stage.OPEN, me + " shuts down after "
                    + plan.queuedBy + " re-sent its queue"));
        }
        return List.copyOf(deps);
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        List<Integer> owned = new ArrayList<>();
        int newFd = -1;
        int fd = ctx.fd().orElse(-1);
        try {
            if (step == Step.CREATE) {
                int got = create(ctx, t, owned);
                if (got < 0) {
                    return OpenResult.again();
                }
                fd = got;
                newFd = got;
                step = Step.CONNECT;
            }
            if (step == Step.CONNECT) {
                if (!connect(ctx, t, fd)) {
                    return again(newFd, owned);
                }
                step = Step.QUEUE;
            }
            if (step == Step.QUEUE) {
                if (!queues.send(ctx, t, fd, owned)) {
                    return again(newFd, owned);
                }
                step = Step.FINISH;
            }
            if (!finish(ctx, t, fd)) {
                return again(newFd, owned);
            }
            owned.remove(Integer.valueOf(newFd));
            checkNothingLeft(owned);
            return newFd >= 0 ? OpenResult.done(newFd) : OpenResult.done();
        } catch (SysException e) {
            IOException failure = new IOException(me + ": " + e.getMessage(), e);
            rollback(t, owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            rollback(t, owned, e);
            throw e;
        }
    }

    private OpenResult again(int newFd, List<Integer> owned) {
        owned.remove(Integer.valueOf(newFd));
        checkNothingLeft(owned);
        return newFd >= 0 ? OpenResult.again(newFd) : OpenResult.again();
    }

    private void checkNothingLeft(List<Integer> owned) {
        if (!owned.isEmpty()) {
            throw new IllegalStateException(me + ": internal error, temporaries " + owned + " left open");
        }
    }

    // ---- create ---------------------------------------------------------------------------------

    /** The socket's own fd (a temporary in {@code owned}), or -1 when it must wait for its hand-off. */
    private int create(OpenContext ctx, TaskTable t, List<Integer> owned) throws Exception {
        int fd;
        switch (plan.role) {
            case HANDED -> {
                OptionalInt h = ctx.takeHandOff();
                if (h.isEmpty()) {
                    ctx.waitingFor(me + " waits for its fd from file " + plan.creatorFile + " ("
                            + plan.pair + ")");
                    return -1;
                }
                fd = h.getAsInt();
                owned.add(fd);
            }
            case CREATOR -> fd = pairs.createPair(ctx, t, owned);
            case ORPHAN -> fd = createOrphan(t, owned);
            default -> {
                fd = t.socket(AF_UNIX, me.type() | SOCK_NONBLOCK, 0);
                owned.add(fd);
            }
        }
        SockOpts.apply(t, fd, me.opts());
        byte[] addr = bindOwnName(ctx, t, fd);
        if (plan.role == Role.LISTENER) {
            t.listen(fd, me.backlog());
            for (Pair p : plan.acceptJobs) {
                pairs.acceptJob(ctx, t, fd, addr, p, owned);
            }
        }
        if (plan.role == Role.ORPHAN) {
            QueueJob j = plan.selfJob();
            if (j != null) {
                ctx.signal(queued(me.ino()));
            }
        }
        if (plan.role == Role.LISTENER) {
            ctx.signal(listening(me.ino()));
        }
        return fd;
    }

    /** Binds the socket's own name, if it has one to bind; returns the address (null when none). */
    private byte[] bindOwnName(OpenContext ctx, TaskTable t, int fd) throws IOException {
        if (!plan.bindOwnName) {
            return null;
        }
        byte[] addr;
        if (me.name().isAbstract()) {
            addr = me.name().abstractAddress();
            bind(t, fd, addr);
        } else if (me.deleted()) {
            journal = ctx.journal();
            DeletedName d = DeletedName.bind(ctx.root(), me, t, fd, true, journal);
            synchronized (created) {
                deletedName = d;
            }
            addr = d.reachAddress();
            names.reachable(me.ino(), addr);
        } else {
            SockPath sp = SockPath.of(ctx.root(), me);
            sp.clearStale(me, t);
            addr = sp.address();
            journal = ctx.journal();
            journal.making(Journal.Entry.SOCKET, sp.host());
            try {
                t.bind(fd, addr);
            } catch (SysException e) {
                journal.gone(sp.host()); // what is there is not ours
                if (e.errno() != Errno.EADDRINUSE) {
                    throw new IOException(me + ": cannot bind to " + me.name() + ": " + e.getMessage(), e);
                }
                throw sp.taken(me, e); // bound there since the check above (a concurrent restore)
            }
            synchronized (created) {
                created.add(sp);
            }
            journal.made(Journal.Entry.SOCKET, sp.host());
            sp.applyPerms(me.perms());
        }
        ctx.signal(bound(me.ino()));
        return addr;
    }

    private void bind(TaskTable t, int fd, byte[] addr) throws IOException {
        try {
            t.bind(fd, addr);
        } catch (SysException e) {
            String why = e.errno() == Errno.EADDRINUSE ? "its address is already in use"
                    + (me.name().isAbstract() ? fdrestore.api.sys.SocketHolders.ofUnixName(me.name().toString()) : "")
                    : e.getMessage();
            throw new IOException(me + ": cannot bind to " + me.name() + ": " + why, e);
        }
    }

    void connectOrFail(TaskTable t, int fd, byte[] addr, UnixSock who, UnixSock to) throws IOException {
        boolean ok;
        try {
            ok = t.connect(fd, addr) != TaskTable.AGAIN;
        } catch (SysException e) {
            throw new IOException(who + ": cannot connect to " + to + ": " + e.getMessage(), e);
        }
        if (!ok) {
            throw new IOException(who + ": cannot connect to " + to + ": its backlog (" + to.backlog()
                    + ") is full");
        }
    }

    /** An established socket whose peer is gone: one end of a socketpair; its queue comes from the other. */
    private int createOrphan(TaskTable t, List<Integer> owned) throws IOException, SysException {
        int[] sp = t.socketpair(AF_UNIX, me.type() | SOCK_NONBLOCK, 0);
        owned.add(sp[0]);
        owned.add(sp[1]);
        QueueJob j = plan.selfJob();
        if (j != null) {
            for (Packet p : j.packets()) {
                int[] fds = new int[p.rights().length];
                for (int i = 0; i < fds.length; i++) {
                    fds[i] = sp[0]; // the planner admits only the socket itself here
                }
                queues.sendConnected(t, sp[1], p, fds);
            }
        }
        closeOwned(t, owned, sp[1]);
        return sp[0];
    }

    static void closeOwned(TaskTable t, List<Integer> owned, int fd) throws SysException {
        owned.remove(Integer.valueOf(fd));
        t.close(fd);
    }

    // ---- connect --------------------------------------------------------------------------------

    private boolean connect(OpenContext ctx, TaskTable t, int fd) throws IOException {
        UnixSock to = plan.connectTo;
        if (to == null) {
            return true;
        }
        String cond = to.listening() ? listening(to.ino()) : bound(to.ino());
        if (!ctx.signalled(cond)) {
            ctx.waitingFor(me + " waits for " + to + " to be " + (to.listening() ? "listening" : "bound")
                    + " before it connects");
            return false;
        }
        connectOrFail(t, fd, addressOf(ctx, to), me, to);
        if (to.id() != me.id()) {
            ctx.signal(reached(to.ino(), me.ino()));
        }
        return true;
    }

    byte[] addressOf(OpenContext ctx, UnixSock s) throws IOException {
        if (s.name().isAbstract()) {
            return s.name().abstractAddress();
        }
        if (s.deleted()) {
            byte[] a = names.reach(s.ino());
            if (a == null) {
                throw new IOException(me + ": internal error, the deleted name of " + s + " is not bound yet");
            }
            return a;
        }
        return SockPath.of(ctx.root(), s).address();
    }

    // ---- finish ---------------------------------------------------------------------------------

    private boolean finish(OpenContext ctx, TaskTable t, int fd) throws IOException, SysException {
        if (deletedName != null) {
            for (UnixSock u : plan.nameUsers) {
                if (!ctx.signalled(reached(me.ino(), u.ino()))) {
                    ctx.waitingFor(me + " waits for " + u + " to reach its deleted name before it goes");
                    return false;
                }
            }
            DeletedName d;
            synchronized (created) {
                d = deletedName;
                deletedName = null;
            }
            d.release();
        }
        if (me.deleted()) {
            List<SockPath> mine;
            synchronized (created) {
                mine = new ArrayList<>(created);
                created.clear();
            }
            for (SockPath sp : mine) {
                sp.unlink(); // bound, then deleted: the name stays, the file goes
                journal.gone(sp.host());
            }
        }
        if (me.shutdown() != 0) {
            if (plan.queuedBy != null && plan.queuedBy.id() != me.id() && !ctx.signalled(queued(me.ino()))) {
                ctx.waitingFor(me + " waits for " + plan.queuedBy + " to re-send its queue before it shuts down");
                return false;
            }
            int how = switch (me.shutdown()) {
                case 1 -> 0; // SHUT_RD
                case 2 -> 1; // SHUT_WR
                default -> 2; // SHUT_RDWR
            };
            t.shutdown(fd, how);
        }
        t.fcntl(fd, F_SETFL, me.flags() & Linux.SETFL_MASK);
        return true;
    }

    // ---- failure --------------------------------------------------------------------------------

    private void rollback(TaskTable t, List<Integer> owned, Throwable failure) {
        t.closeAll(owned, failure);
        try {
            abort();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * Undoes what this restorer left outside the task tables: unlinks every socket file it bound. Called
     * after the whole restore failed (the tables themselves are closed by the engine's caller).
     */
    public void abort() throws IOException {
        List<SockPath> mine;
        DeletedName d;
        synchronized (created) {
            mine = new ArrayList<>(created);
            created.clear();
            d = deletedName;
            deletedName = null;
        }
        IOException first = null;
        if (d != null) {
            try {
                d.release();
            } catch (IOException e) {
                first = e;
            }
        }
        for (SockPath sp : mine) {
            try {
                sp.unlink();
                journal.gone(sp.host());
            } catch (IOException e) {
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

    /** The socket files this restorer bound and still owns (for tests). */
    List<java.nio.file.Path> createdPaths() {
        synchronized (created) {
            return created.stream().map(SockPath::host).toList();
        }
    }

    @Override
    public String toString() {
        return plan.toString();
    }
}
