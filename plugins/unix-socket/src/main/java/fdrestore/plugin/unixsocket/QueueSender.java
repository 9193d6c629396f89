package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.unixsocket.SockPlan.QueueJob;
import fdrestore.plugin.unixsocket.SockPlan.QueueMode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The queue step of a {@link UnixRestorer}: re-sends the packets its socket is the queuer of, in the
 * order of the images, once the receiver is bound (a datagram sent to a name) and the files the packets
 * pass are open in this task. A stream is sent in chunks read from the image, its fds with the first; a
 * datagram or a record goes whole in one send. Signals {@code unix-queued:<receiver ino>} per job.
 */
final class QueueSender {
    private final UnixRestorer r;
    /** The jobs already sent: the step may answer Again and resume at the next one. */
    private int done;

    QueueSender(UnixRestorer r) {
        this.r = r;
    }

    /**
     * Sends the packets of each queue job in turn, from the first not yet done; false (Again) while a
     * receiver is not bound yet or a file a packet passes is not open in this task yet.
     */
    boolean send(OpenContext ctx, TaskTable t, int fd, List<Integer> owned) throws IOException, SysException {
        for (; done < r.plan.queues.size(); done++) {
            QueueJob j = r.plan.queues.get(done);
            if (j.mode() == QueueMode.FAKE_PEER) {
                continue; // done while creating
            }
            UnixSock rcv = j.receiver();
            if (j.mode() == QueueMode.SENDTO && !ctx.signalled(UnixRestorer.bound(rcv.ino()))) {
                ctx.waitingFor(r.me + " waits for " + rcv + " to be bound before it re-sends its queue");
                return false;
            }
            List<int[]> passed = new ArrayList<>();
            for (Packet p : j.packets()) {
                int[] fds = new int[p.rights().length];
                for (int i = 0; i < fds.length; i++) {
                    long f = p.rights()[i];
                    if (f == r.me.id()) {
                        fds[i] = fd;
                        continue;
                    }
                    Optional<Stage> st = ctx.stageInThisTask(f);
                    if (st.isEmpty()) {
                        throw new IOException(r.me + ": the queue of " + rcv + " passes file " + f
                                + ", which this task has no fd of");
                    }
                    if (!st.get().atLeast(Stage.OPEN)) {
                        ctx.waitingFor(r.me + " waits for file " + f + " (passed in the queue of " + rcv
                                + ") to be open in this task");
                        return false;
                    }
                    // Its target fd, or the fd an in-flight file is held at (only once it is open).
                    OptionalInt ffd = ctx.fdInThisTask(f);
                    if (ffd.isEmpty()) {
                        throw new IOException(r.me + ": file " + f + ", passed in the queue of " + rcv
                                + ", is open in this task but has no fd");
                    }
                    fds[i] = ffd.getAsInt();
                }
                passed.add(fds);
            }
            byte[] dest = j.mode() == QueueMode.CONNECTED ? null : r.addressOf(ctx, rcv);
            int sender = fd;
            if (j.mode() == QueueMode.TEMP) {
                sender = t.socket(UnixRestorer.AF_UNIX, UnixSock.SOCK_DGRAM | UnixRestorer.SOCK_NONBLOCK, 0);
                owned.add(sender);
            }
            for (int i = 0; i < j.packets().size(); i++) {
                Packet p = j.packets().get(i);
                if (dest == null) {
                    sendConnected(t, sender, p, passed.get(i));
                } else {
                    int[] fds = passed.get(i);
                    byte[] data = p.whole(t, sender, r.me.toString());
                    if (t.sendFds(sender, dest, data, data.length, fds, fds.length) == TaskTable.AGAIN) {
                        throw new IOException(r.me + ": the queue of " + rcv + " is full after " + i + " of "
                                + j.packets().size() + " packets (net.unix.max_dgram_qlen or buffer sizes)");
                    }
                }
            }
            if (j.mode() == QueueMode.TEMP) {
                UnixRestorer.closeOwned(t, owned, sender);
            }
            if (j.mode() == QueueMode.SENDTO) {
                ctx.signal(UnixRestorer.reached(rcv.ino(), r.me.ino()));
            }
            ctx.signal(UnixRestorer.queued(rcv.ino()));
        }
        return true;
    }

    /**
     * Sends one packet on a connected socket, all of it: a stream in parts, read from the image in chunks
     * (the fds go with the first); a datagram or a record whole, in one send.
     */
    void sendConnected(TaskTable t, int fd, Packet p, int[] fds) throws IOException, SysException {
        if (r.me.type() != UnixSock.SOCK_STREAM || p.length() == 0) {
            byte[] data = p.whole(t, fd, r.me.toString());
            sendPart(t, fd, p, fds, data, 0, data.length, 0);
            return;
        }
        long[] sent = {0};
        p.data().forEachChunk(p.data().chunkBuffer(), (buf, off, len) -> {
            try {
                sendPart(t, fd, p, sent[0] == 0 ? fds : new int[0], buf, off, len, sent[0]);
            } catch (SysException e) {
                throw new IOException(r.me + ": cannot send the queued bytes for file " + p.receiver() + ": "
                        + e.getMessage(), e);
            }
            sent[0] += len;
        });
    }

    /** Sends {@code data[off, off+len)}, the part of packet {@code p} from byte {@code before} on. */
    private void sendPart(TaskTable t, int fd, Packet p, int[] fds, byte[] data, int off, int len, long before)
            throws IOException, SysException {
        int at = off;
        boolean first = true;
        while (first || at < off + len) {
            int n = t.send(fd, data, at, off + len - at, first ? fds : new int[0], first ? fds.length : 0);
            if (n < 0) {
                throw new IOException(r.me + ": the socket buffer is full after " + (before + at - off) + " of "
                        + p.length() + " queued bytes for file " + p.receiver());
            }
            at += n;
            first = false;
        }
    }
}
