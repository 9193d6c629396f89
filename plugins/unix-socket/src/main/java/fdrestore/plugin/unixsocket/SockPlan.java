package fdrestore.plugin.unixsocket;

import java.util.ArrayList;
import java.util.List;

/** What the restorer of one unix socket does, decided by {@link UnixImages} before any syscall. */
final class SockPlan {
    /** How the socket comes into being. */
    enum Role {
        /** socket(), then bind / connect as the image says. */
        OWN,
        /** socket(), bind, listen; also makes the accepted connections of this listener ({@link #acceptJobs}). */
        LISTENER,
        /** Makes both ends of {@link #pair} (socketpair, or connect + accept), keeps its own, hands the other. */
        CREATOR,
        /** Takes its fd from {@link #creatorFile} (a pair's creator or the listener that accepted it). */
        HANDED,
        /** An established socket whose peer is gone: socketpair, queue through the other end, close it. */
        ORPHAN
    }

    /**
     * Two connected sockets made at once. {@code accept}: the server half ({@code server}) is an accepted
     * connection carrying a listener's name, so it is made by connect() to a listener at that name and
     * accept(): the restored {@code listener} when there is one, else a temporary listener. Otherwise the
     * two ends come from socketpair().
     */
    record Pair(UnixSock a, UnixSock b, boolean accept, UnixSock server, UnixSock client, UnixSock listener) {
        UnixSock other(UnixSock s) {
            return s.id() == a.id() ? b : a;
        }

        @Override
        public String toString() {
            return accept ? "accepted connection " + server + " <- " + client
                    + (listener != null ? " of listener " + listener : " (listener gone)")
                    : "socketpair " + a + " <-> " + b;
        }
    }

    /** How a queuer gets its packets into the receiver's queue. */
    enum QueueMode {
        /** send() on the queuer, which is connected to the receiver. */
        CONNECTED,
        /** sendto() the receiver's name from the queuer. */
        SENDTO,
        /** sendto() the receiver's own name from a temporary socket (the receiver is its own queuer). */
        TEMP,
        /** send() from the other end of an orphan's socketpair, closed afterwards. */
        FAKE_PEER
    }

    /** The packets this socket re-sends into {@code receiver}'s queue, in image order. */
    record QueueJob(UnixSock receiver, QueueMode mode, List<Packet> packets) {
        QueueJob {
            packets = List.copyOf(packets);
        }
    }

    final UnixSock sock;
    Role role = Role.OWN;
    Pair pair;
    long creatorFile = -1;
    boolean bindOwnName;
    UnixSock connectTo;
    final List<Pair> acceptJobs = new ArrayList<>();
    final List<QueueJob> queues = new ArrayList<>();
    /** Files that exist only in flight that its queues pass, by id: this socket's master task. */
    final java.util.Map<Long, Integer> inFlight = new java.util.LinkedHashMap<>();
    /** The sockets that connect or send to this socket's deleted path name: it stays reachable until they did. */
    final List<UnixSock> nameUsers = new ArrayList<>();
    /** The socket that fills this socket's queue, or null when it has no packets. */
    UnixSock queuedBy;
    String error;

    SockPlan(UnixSock sock) {
        this.sock = sock;
    }

    /** The job filling this socket's own queue that it runs itself (TEMP or FAKE_PEER), or null. */
    QueueJob selfJob() {
        for (QueueJob j : queues) {
            if (j.receiver().id() == sock.id() && (j.mode() == QueueMode.TEMP || j.mode() == QueueMode.FAKE_PEER)) {
                return j;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return sock + ": " + role + (pair != null ? " " + pair : "") + (creatorFile >= 0 ? " from file " + creatorFile : "")
                + (connectTo != null ? ", connects to ino " + connectTo.ino() : "")
                + (acceptJobs.isEmpty() ? "" : ", accepts " + acceptJobs)
                + (queues.isEmpty() ? "" : ", queues " + queues.size() + " job(s)");
    }
}
