package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one inet socket description (see {@link InetSocket}).
 *
 * <p>First call: socket, IPV6_V6ONLY, the image's options, SO_REUSEADDR (and, for a shared port,
 * SO_REUSEPORT) forced on, TCP_REPAIR for an established connection, bind, then listen, connect (UDP),
 * or the repair sequence (TCP); file flags, F_SETSIG, shutdown. The socket is reported as the new fd
 * (OPEN) at that point. Then, possibly on later calls: once every other user of the port is bound, the
 * image's SO_REUSEADDR/SO_REUSEPORT go back; once the peer of an established connection (when it is in
 * the images) is connected in repair mode, repair mode is left and unsent data is sent. On a failure
 * before the fd is reported, the socket is closed: nothing leaks.
 */
final class InetRestorer implements FileRestorer {
    private static final int ENOTCONN = 107;
    private static final int ECONNRESET = 104;
    private static final int TCP_NO_QUEUE = 0;
    private static final int MAX_CHUNK = 1 << 20;

    private final InetSocket s;
    private boolean reuseDone;
    private boolean inRepair;
    /** The socket made in the shared prepare batch, or null. */
    private Batch.Ref prepared;
    /** The FINs of a half-closed connection are in place (they wait for a peer in the images). */
    private boolean finsDone;
    /** The connection was reset while its FINs were restored: its peer outside the images is gone. */
    private boolean reset;

    InetRestorer(InetSocket s) {
        this.s = s;
    }

    InetSocket socket() {
        return s;
    }

    /**
     * A socket that waits for nothing and needs no call outside a batch (a raw, ICMP or UDP socket that is
     * not connected, shares no port and is not shut down) is created entirely in the pass's shared batch:
     * 530 raw sockets of a task take one hand-off instead of 530 times a dozen.
     */
    @Override
    public List<Batch.Ref> prepare(OpenContext ctx, Batch batch) {
        if (s.tcp() || s.dst() != null || !s.portUsers().isEmpty() || s.shutdown() != 0) {
            return null;
        }
        Batch.Ref fd = batch.socket(s.family(), s.type(), s.proto());
        for (SockOpt o : createOptions()) {
            batch.setsockopt(fd, o.level(), o.name(), o.value());
        }
        for (SockOpt o : reuseOptions()) {
            batch.setsockopt(fd, o.level(), o.name(), o.value());
        }
        if (s.binds()) {
            batch.bind(fd, s.src().sockaddr());
        }
        int fl = s.flags() & Linux.SETFL_MASK;
        if (fl != 0) {
            batch.fcntl(fd, InetConst.F_SETFL, fl);
        }
        if (s.signum() != 0) {
            batch.fcntl(fd, InetConst.F_SETSIG, s.signum());
        }
        prepared = fd;
        return List.of(fd);
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        if (ctx.fd().isPresent()) {
            return finish(ctx, t, ctx.fd().getAsInt()) ? OpenResult.done() : OpenResult.again();
        }
        if (prepared != null && ctx.prepared()) {
            // Everything ran in the shared batch; a failed batch (this file's call or another's) closed the
            // socket, and the calls below make it again one by one, each with its own fallback and error.
            int fd = (int) prepared.get();
            reuseDone = true;
            if (s.binds()) {
                ctx.signal(InetSocket.boundCondition(s.fileId()));
            }
            return OpenResult.done(fd);
        }
        int fd;
        try {
            fd = t.socket(s.family(), s.type(), s.proto());
        } catch (SysException e) {
            throw new IOException(s.what() + ": " + e.getMessage(), e);
        }
        try {
            create(ctx, t, fd);
            return finish(ctx, t, fd) ? OpenResult.done(fd) : OpenResult.again(fd);
        } catch (Exception | Error e) {
            try {
                t.close(fd);
            } catch (Exception c) {
                e.addSuppressed(c);
            }
            throw e;
        }
    }

    /** The error for an address another socket holds, naming the process that holds its port when one is found. */
    private IOException inUse(String call, SysException e) {
        String who = s.type() == InetConst.SOCK_STREAM || InetSocket.isUdp(s.type(), s.proto())
                ? fdrestore.api.sys.SocketHolders.ofInetPort(s.type() == InetConst.SOCK_STREAM, s.src().port()) : "";
        return new IOException(s.what() + ": cannot " + call + " " + s.src() + ": the address is already in use"
                + " (EADDRINUSE)" + (who.isEmpty() ? " by a socket outside this restore" : who), e);
    }

    private IOException fail(String step, SysException e) {
        return new IOException(s.what() + ": " + step + ": " + e.getMessage(), e);
    }

    private void set(TaskTable t, int fd, SockOpt o) throws IOException {
        try {
            o.apply(t, fd);
        } catch (SysException e) {
            throw fail("setsockopt " + o, e);
        }
    }

    private void setInt(TaskTable t, int fd, int level, int name, int value, String label) throws IOException {
        set(t, fd, SockOpt.ofInt(level, name, value, label));
    }

    /** Everything up to the point the fd can be served out. */
    private void create(OpenContext ctx, TaskTable t, int fd) throws IOException {
        for (SockOpt o : createOptions()) {
            set(t, fd, o);
        }
        if (!s.binds()) {
            setReuse(t, fd);
            reuseDone = true;
        } else {
            // Forced while the port's users bind; each gets its own values back in finish().
            set(t, fd, SockOpt.ofBool(SOL_SOCKET, InetConst.SO_REUSEADDR, true, "SO_REUSEADDR"));
            if (!s.portUsers().isEmpty()) {
                set(t, fd, SockOpt.ofBool(SOL_SOCKET, InetConst.SO_REUSEPORT, true, "SO_REUSEPORT"));
            }
        }
        if (s.established()) {
            setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_ON, "TCP_REPAIR");
            inRepair = true;
        }
        if (s.binds()) {
            try {
                t.bind(fd, s.src().sockaddr());
            } catch (SysException e) {
                if (e.errno() == Errno.EADDRINUSE) {
                    throw inUse("bind", e);
                }
                throw fail("bind " + s.src(), e);
            }
            ctx.signal(InetSocket.boundCondition(s.fileId()));
        }
        if (s.listening()) {
            try {
                t.listen(fd, s.backlog());
            } catch (SysException e) {
                if (e.errno() == Errno.EADDRINUSE) { // bound beside another SO_REUSEADDR socket, which listens first
                    throw inUse("listen on", e);
                }
                throw fail("listen(backlog " + s.backlog() + ")", e);
            }
        }
        if (s.udpConnected()) {
            try {
                t.connect(fd, s.dst().sockaddr());
            } catch (SysException e) {
                throw fail("connect " + s.dst(), e);
            }
        }
        if (s.established()) {
            repair(t, fd);
            ctx.signal(InetSocket.repairedCondition(s.fileId()));
        }
        int fl = s.flags() & Linux.SETFL_MASK;
        if (fl != 0) {
            try {
                t.fcntl(fd, InetConst.F_SETFL, fl);
            } catch (SysException e) {
                throw fail("fcntl(F_SETFL, 0" + Integer.toOctalString(fl) + ")", e);
            }
        }
        if (s.signum() != 0) {
            try {
                t.fcntl(fd, InetConst.F_SETSIG, s.signum());
            } catch (SysException e) {
                throw fail("fcntl(F_SETSIG, " + s.signum() + ")", e);
            }
        }
        if (!s.established() && s.shutdown() != 0) {
            shutdown(t, fd, s.shutdown());
        }
    }

    /** IPV6_V6ONLY, then the image's options, in the order they are set. */
    private List<SockOpt> createOptions() {
        List<SockOpt> out = new ArrayList<>();
        if (s.family() == InetConst.AF_INET6 && (s.v6only() || !s.raw())) {
            // A raw socket has its protocol as its "port" already: IPV6_V6ONLY is EINVAL there, and off anyway.
            out.add(SockOpt.ofBool(InetConst.SOL_IPV6, InetConst.IPV6_V6ONLY, s.v6only(), "IPV6_V6ONLY"));
        }
        out.addAll(s.options());
        return out;
    }

    private void shutdown(TaskTable t, int fd, int bits) throws IOException {
        int how = (bits & 3) == 3 ? InetConst.SHUT_RDWR
                : (bits & InetConst.SK_SHUTDOWN_WRITE) != 0 ? InetConst.SHUT_WR : InetConst.SHUT_RD;
        try {
            t.shutdown(fd, how);
        } catch (SysException e) {
            // An unconnected UDP socket records the shutdown and still answers ENOTCONN.
            if (!(e.errno() == ENOTCONN && !s.tcp()) && !peerGone(e)) {
                throw fail("shutdown(" + how + ")", e);
            }
        }
    }

    /**
     * The repair sequence of a connection (criu's libsoccr): queue sequence numbers, connect (no SYN in
     * repair mode), TCP options, timestamp, queued data, window. The images count a FIN in the sequence
     * numbers (rcv_nxt is past the peer's FIN, snd_nxt past this side's), so a half-closed connection
     * starts one before each FIN, and the FINs come back as segments in {@link #restoreFins}. No segment
     * leaves the socket here.
     */
    private void repair(TaskTable t, int fd) throws IOException {
        TcpStream st = s.stream();
        int state = s.state();
        boolean finOut = InetSocket.finSent(state);
        int inqSeq = st.inqSeq() - (InetSocket.finReceived(state) ? 1 : 0);
        int outqSeq = st.outqSeq() - (finOut ? 1 : 0);
        setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE");
        setInt(t, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, inqSeq - st.inqLen(), "TCP_QUEUE_SEQ(receive)");
        setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE");
        setInt(t, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, outqSeq - st.outqLen(), "TCP_QUEUE_SEQ(send)");
        try {
            t.connect(fd, s.dst().sockaddr());
        } catch (SysException e) {
            throw fail("connect " + s.dst() + " in repair mode", e);
        }
        set(t, fd, new SockOpt(SOL_TCP, InetConst.TCP_REPAIR_OPTIONS, repairOptions(st), "TCP_REPAIR_OPTIONS", 0, false));
        if ((st.optMask() & InetConst.TCPI_OPT_TIMESTAMPS) != 0) {
            setInt(t, fd, SOL_TCP, InetConst.TCP_TIMESTAMP, st.timestamp(), "TCP_TIMESTAMP");
        }
        if (st.inqLen() > 0) {
            setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE");
            sendQueue(t, fd, st.inq(), 0, st.inqLen(), "receive queue");
        }
        // Once this side's FIN is sent, the never-sent tail must come before it: it goes in as sent too
        // and is retransmitted once repair mode is left.
        int sent = finOut ? st.outqLen() : st.sentLen();
        if (sent > 0) {
            setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE");
            sendQueue(t, fd, st.outq(), 0, sent, "send queue (sent, unacknowledged)");
        }
        if (st.hasWindow()) {
            boolean finIn = InetSocket.finReceived(state);
            byte[] w = new byte[20];
            InetConst.putInt(w, 0, st.sndWl1());
            InetConst.putInt(w, 4, st.sndWnd());
            InetConst.putInt(w, 8, st.maxWindow());
            // The peer's FIN is not in rcv_nxt yet: the window starts one byte earlier and is one byte larger.
            InetConst.putInt(w, 12, st.rcvWnd() + (finIn ? 1 : 0));
            InetConst.putInt(w, 16, st.rcvWup() - (finIn ? 1 : 0));
            set(t, fd, new SockOpt(SOL_TCP, InetConst.TCP_REPAIR_WINDOW, w, "TCP_REPAIR_WINDOW", 0, false));
        }
    }

    /**
     * The FINs of a half-closed connection, in the order its state needs them (criu's libsoccr): this
     * side's FIN goes in the send queue with shutdown(SHUT_WR) (as sent, in repair mode), the peer's FIN
     * (and, for fin-wait2, its acknowledgement of this side's FIN) comes in as a segment from the peer's
     * address through a raw socket of this task. The socket answers that segment: a peer outside the
     * images that is gone resets the connection, which then stays reset (the fd is restored all the same).
     */
    private void restoreFins(TaskTable t, int fd) throws IOException {
        int state = s.state();
        TcpStream st = s.stream();
        int inqSeq = st.inqSeq() - (InetSocket.finReceived(state) ? 1 : 0);
        int snaUna = st.outqSeq() - (InetSocket.finSent(state) ? 1 : 0) - st.outqLen();
        boolean firstFin = state == InetConst.TCP_FIN_WAIT1 || state == InetConst.TCP_FIN_WAIT2
                || state == InetConst.TCP_CLOSING;
        if (firstFin) {
            finInSendQueue(t, fd, state == InetConst.TCP_FIN_WAIT2);
        }
        if (InetSocket.finReceived(state)) {
            inject(t, TcpSegment.FIN | TcpSegment.ACK, inqSeq, snaUna);
        }
        if (state == InetConst.TCP_LAST_ACK && !reset) {
            finInSendQueue(t, fd, false);
        }
        if (state == InetConst.TCP_FIN_WAIT2 && !reset) {
            inject(t, TcpSegment.ACK, inqSeq, snaUna + 1);
        }
    }

    /** shutdown(SHUT_WR) in repair mode with the send queue selected: the FIN is queued as sent. */
    private void finInSendQueue(TaskTable t, int fd, boolean acked) throws IOException {
        setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE");
        try {
            t.shutdown(fd, InetConst.SHUT_WR);
        } catch (SysException e) {
            if (!peerGone(e)) {
                throw fail("shutdown(SHUT_WR) to queue this side's FIN", e);
            }
            reset = true;
            return;
        }
        if (acked) {
            // The acknowledgement that follows is processed with no repair queue selected.
            setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE");
        }
    }

    /** Sends one TCP segment from the peer's address to this socket, through a raw socket of the task. */
    private void inject(TaskTable t, int flags, int seq, int ack) throws IOException {
        TcpStream st = s.stream();
        int wnd = (st.optMask() & InetConst.TCPI_OPT_WSCALE) != 0 ? st.sndWnd() >>> st.sndWscale() : st.sndWnd();
        byte[] packet = TcpSegment.packet(s.dst(), s.src(), seq, ack, flags, Math.min(wnd, 0xffff));
        String what = "the peer's " + TcpSegment.flagNames(flags) + " segment (seq " + Integer.toUnsignedString(seq)
                + ", ack " + Integer.toUnsignedString(ack) + ")";
        int raw;
        try {
            raw = t.socket(s.family(), InetConst.SOCK_RAW, InetConst.IPPROTO_RAW);
        } catch (SysException e) {
            throw fail("socket(SOCK_RAW, IPPROTO_RAW) to send " + what, e);
        }
        try {
            if (s.family() == InetConst.AF_INET6) {
                t.setsockopt(raw, InetConst.SOL_IPV6, InetConst.IPV6_HDRINCL, InetConst.intValue(1));
            }
            t.connect(raw, new InetAddr(s.family(), s.src().addr(), 0, s.src().scopeId()).sockaddr());
            int n = t.send(raw, packet, 0, packet.length, new int[0], 0);
            if (n != packet.length) {
                throw new IOException(s.what() + ": sending " + what + ": " + n + " of " + packet.length + " bytes sent");
            }
        } catch (SysException e) {
            throw fail("sending " + what + " through a raw socket", e);
        } finally {
            try {
                t.close(raw);
            } catch (SysException e) {
                throw fail("close of the raw socket that sent " + what, e);
            }
        }
    }

    /** A call failed because the connection was reset: its peer is outside the images and gone. */
    private boolean peerGone(SysException e) {
        return s.streamPeer() < 0 && (e.errno() == ECONNRESET || e.errno() == Errno.EPIPE || e.errno() == ENOTCONN);
    }

    /** The struct tcp_repair_opt array for TCP_REPAIR_OPTIONS. */
    static byte[] repairOptions(TcpStream st) {
        List<int[]> opts = new ArrayList<>();
        if ((st.optMask() & InetConst.TCPI_OPT_SACK) != 0) {
            opts.add(new int[] {InetConst.TCPOPT_SACK_PERM, 0});
        }
        if ((st.optMask() & InetConst.TCPI_OPT_WSCALE) != 0) {
            opts.add(new int[] {InetConst.TCPOPT_WINDOW, st.sndWscale() + (st.rcvWscale() << 16)});
        }
        if ((st.optMask() & InetConst.TCPI_OPT_TIMESTAMPS) != 0) {
            opts.add(new int[] {InetConst.TCPOPT_TIMESTAMP, 0});
        }
        opts.add(new int[] {InetConst.TCPOPT_MAXSEG, st.mssClamp()});
        byte[] b = new byte[8 * opts.size()];
        for (int i = 0; i < opts.size(); i++) {
            InetConst.putInt(b, 8 * i, opts.get(i)[0]);
            InetConst.putInt(b, 8 * i + 4, opts.get(i)[1]);
        }
        return b;
    }

    /**
     * Sends {@code data[off, off+len)} into the selected queue; like libsoccr, halves the chunk when the
     * kernel cannot allocate one that large.
     */
    private void sendQueue(TaskTable t, int fd, byte[] data, int off, int len, String queue) throws IOException {
        int max = Math.min(len, MAX_CHUNK);
        int end = off + len;
        while (off < end) {
            int chunk = Math.min(end - off, max);
            int n;
            try {
                n = t.send(fd, data, off, chunk, new int[0], 0);
            } catch (SysException e) {
                if (e.errno() == Errno.ENOMEM && max > 1024) {
                    max >>= 1;
                    continue;
                }
                throw fail("restoring the " + queue + " (" + (off - (end - len)) + " of " + len + " bytes done)", e);
            }
            if (n <= 0) {
                if (max > 1024) {
                    max >>= 1;
                    continue;
                }
                throw new IOException(s.what() + ": restoring the " + queue + ": the kernel took no more data after "
                        + (off - (end - len)) + " of " + len + " bytes");
            }
            off += n;
        }
    }

    /** The steps that may wait for other sockets; true once the socket is fully restored. */
    private boolean finish(OpenContext ctx, TaskTable t, int fd) throws IOException {
        if (!reuseDone && s.binds()) {
            if (s.waitsForPortUsers()) {
                for (long other : s.portUsers()) {
                    if (!ctx.signalled(InetSocket.boundCondition(other))) {
                        ctx.waitingFor("waits until every user of " + (s.tcp() ? "tcp" : "udp") + " port "
                                + s.src().port() + " is bound (file " + other + " is not yet) to restore its own"
                                + " SO_REUSEADDR/SO_REUSEPORT");
                        return false;
                    }
                }
            }
            setReuse(t, fd);
            reuseDone = true;
        }
        if (inRepair) {
            if (s.streamPeer() >= 0 && !ctx.signalled(InetSocket.repairedCondition(s.streamPeer()))) {
                ctx.waitingFor("waits until the other end of " + s.src() + " -> " + s.dst() + " (file "
                        + s.streamPeer() + ") is connected in repair mode, to leave repair mode");
                return false;
            }
            if (!finsDone) {
                restoreFins(t, fd);
                finsDone = true;
            }
            setInt(t, fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_OFF, "TCP_REPAIR");
            inRepair = false;
            if (s.reuseaddr()) {
                // Leaving repair mode clears SO_REUSEADDR (sk_reuse): the image's value goes back after it.
                set(t, fd, SockOpt.ofBool(SOL_SOCKET, InetConst.SO_REUSEADDR, true, "SO_REUSEADDR"));
            }
            TcpStream st = s.stream();
            if (!reset && st.unsqLen() > 0 && !InetSocket.finSent(s.state())) {
                sendUnsent(t, fd, st);
            }
            if (!reset && (s.shutdown() & InetConst.SK_SHUTDOWN_READ) != 0) {
                shutdown(t, fd, InetConst.SK_SHUTDOWN_READ);
            }
        }
        return true;
    }

    private void setReuse(TaskTable t, int fd) throws IOException {
        for (SockOpt o : reuseOptions()) {
            set(t, fd, o);
        }
    }

    /** The image's SO_REUSEADDR, and its SO_REUSEPORT when it is on or was forced on. */
    private List<SockOpt> reuseOptions() {
        SockOpt addr = SockOpt.ofBool(SOL_SOCKET, InetConst.SO_REUSEADDR, s.reuseaddr(), "SO_REUSEADDR");
        if (!s.portUsers().isEmpty() || s.reuseport()) {
            return List.of(addr, SockOpt.ofBool(SOL_SOCKET, InetConst.SO_REUSEPORT, s.reuseport(), "SO_REUSEPORT"));
        }
        return List.of(addr);
    }

    /** The never-sent tail of the send queue, sent normally once out of repair mode. */
    private void sendUnsent(TaskTable t, int fd, TcpStream st) throws IOException {
        int off = st.sentLen();
        int end = st.outqLen();
        while (off < end) {
            int n;
            try {
                n = t.send(fd, st.outq(), off, end - off, new int[0], 0);
            } catch (SysException e) {
                if (peerGone(e)) {
                    reset = true; // the connection is reset: nothing to send it to
                    return;
                }
                throw fail("sending the unsent part of the send queue", e);
            }
            if (n <= 0) {
                throw new IOException(s.what() + ": the send buffer took only " + (off - st.sentLen()) + " of "
                        + st.unsqLen() + " unsent bytes (it is full)");
            }
            off += n;
        }
    }

    @Override
    public String toString() {
        return "restorer of " + s.what();
    }
}
