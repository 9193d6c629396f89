package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.Journal;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.unixsocket.SockPlan.Pair;
import java.io.IOException;
import java.util.List;

/**
 * The connections a {@link UnixRestorer} makes as it creates its socket: both ends of a pair restored
 * together (socketpair(), or a connection accepted on a temporary listener at the server half's name when
 * the original listener is gone) and the connections a listener accepts at once. The ends are temporaries
 * of the restorer's {@code owned} list until they are handed off.
 */
final class PairMaker {
    private final UnixRestorer r;

    PairMaker(UnixRestorer r) {
        this.r = r;
    }

    /**
     * One accepted connection of this listener: a client connects to the listener and the listener
     * accepts it at once, before any unaccepted client may connect (they wait for
     * {@code unix-listening}), so the accepted socket is that client's peer and carries the listener's name.
     */
    void acceptJob(OpenContext ctx, TaskTable t, int listener, byte[] addr, Pair p, List<Integer> owned)
            throws IOException, SysException {
        int c = t.socket(UnixRestorer.AF_UNIX, r.me.type() | UnixRestorer.SOCK_NONBLOCK, 0);
        owned.add(c);
        r.connectOrFail(t, c, addr, p.client(), r.me);
        int s = t.accept(listener, UnixRestorer.SOCK_NONBLOCK);
        if (s < 0) {
            throw new IOException(r.me + ": the connection of " + p.client() + " is not in its queue after connect");
        }
        owned.add(s);
        ctx.handOff(p.server().id(), s);
        owned.remove(Integer.valueOf(s));
        ctx.handOff(p.client().id(), c);
        owned.remove(Integer.valueOf(c));
    }

    /** Makes both ends of the pair, hands the other end off and returns this one's. */
    int createPair(OpenContext ctx, TaskTable t, List<Integer> owned) throws IOException, SysException {
        Pair p = r.plan.pair;
        int mine;
        int other;
        int[] accepted = p.accept() ? acceptThroughTemporaryListener(ctx, t, p, owned) : null;
        if (accepted != null) {
            mine = p.server().id() == r.me.id() ? accepted[0] : accepted[1];
            other = mine == accepted[0] ? accepted[1] : accepted[0];
        } else {
            int[] sp = t.socketpair(UnixRestorer.AF_UNIX, r.me.type() | UnixRestorer.SOCK_NONBLOCK, 0);
            owned.add(sp[0]);
            owned.add(sp[1]);
            mine = sp[0];
            other = sp[1];
        }
        ctx.handOff(p.other(r.me).id(), other);
        owned.remove(Integer.valueOf(other));
        return mine;
    }

    /**
     * The original listener is gone: binds a temporary listener at the server half's name, connects the
     * client and accepts, then removes the listener (and the file it bound). Returns {server, client}, or
     * null when the name cannot be taken (in use, or something is at the path): then the pair falls back
     * to socketpair() and the server half has no name, as with criu.
     */
    private int[] acceptThroughTemporaryListener(OpenContext ctx, TaskTable t, Pair p, List<Integer> owned)
            throws IOException, SysException {
        UnixSock server = p.server();
        int l = t.socket(UnixRestorer.AF_UNIX, r.me.type() | UnixRestorer.SOCK_NONBLOCK, 0);
        owned.add(l);
        r.journal = ctx.journal();
        if (server.deleted() && server.name().isPath()) {
            return acceptThroughDeletedName(ctx, t, p, l, owned);
        }
        SockPath sp = null;
        byte[] addr;
        try {
            if (server.name().isAbstract()) {
                addr = server.name().abstractAddress();
            } else {
                sp = SockPath.of(ctx.root(), server);
                if (sp.exists()) {
                    UnixRestorer.closeOwned(t, owned, l);
                    return null;
                }
                addr = sp.address();
            }
        } catch (IOException e) {
            UnixRestorer.closeOwned(t, owned, l);
            return null;
        }
        if (sp != null) {
            r.journal.making(Journal.Entry.SOCKET, sp.host());
        }
        try {
            t.bind(l, addr);
        } catch (SysException e) {
            if (sp != null) {
                r.journal.gone(sp.host());
            }
            if (e.errno() == Errno.EADDRINUSE) {
                UnixRestorer.closeOwned(t, owned, l);
                return null;
            }
            throw e;
        }
        if (sp != null) {
            synchronized (r.created) {
                r.created.add(sp);
            }
            r.journal.made(Journal.Entry.SOCKET, sp.host());
        }
        t.listen(l, 1);
        int c = t.socket(UnixRestorer.AF_UNIX, r.me.type() | UnixRestorer.SOCK_NONBLOCK, 0);
        owned.add(c);
        r.connectOrFail(t, c, addr, p.client(), server);
        int s = t.accept(l, UnixRestorer.SOCK_NONBLOCK);
        if (s < 0) {
            throw new IOException(r.me + ": the temporary listener at " + server.name() + " has no connection to accept");
        }
        owned.add(s);
        UnixRestorer.closeOwned(t, owned, l);
        if (sp != null) {
            sp.unlink();
            r.journal.gone(sp.host());
            synchronized (r.created) {
                r.created.remove(sp);
            }
        }
        return new int[] {s, c};
    }

    /**
     * {@link #acceptThroughTemporaryListener} for a server half whose name was deleted: the temporary
     * listener {@code l} binds that name as a {@link DeletedName} (making missing directories, moving a file
     * that took the path aside meanwhile), the client connects to where it is reached, then the name and
     * what was made for it go.
     */
    private int[] acceptThroughDeletedName(OpenContext ctx, TaskTable t, Pair p, int l, List<Integer> owned)
            throws IOException, SysException {
        DeletedName d = DeletedName.bind(ctx.root(), p.server(), t, l, false, r.journal);
        try {
            t.listen(l, 1);
            int c = t.socket(UnixRestorer.AF_UNIX, r.me.type() | UnixRestorer.SOCK_NONBLOCK, 0);
            owned.add(c);
            r.connectOrFail(t, c, d.reachAddress(), p.client(), p.server());
            int s = t.accept(l, UnixRestorer.SOCK_NONBLOCK);
            if (s < 0) {
                throw new IOException(r.me + ": the temporary listener at " + p.server().name()
                        + " has no connection to accept");
            }
            owned.add(s);
            UnixRestorer.closeOwned(t, owned, l);
            return new int[] {s, c};
        } finally {
            d.release();
        }
    }
}
