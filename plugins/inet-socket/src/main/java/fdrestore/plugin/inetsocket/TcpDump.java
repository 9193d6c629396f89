package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;

import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * The dump side of a TCP connection (criu's libsoccr save): on a socket of this JVM's own table (the
 * pidfd_getfd copy), TCP_REPAIR on, the state, queue sizes and sequence numbers, the queued bytes
 * (peeked, they stay queued), the negotiated options, the timestamp and the window, then TCP_REPAIR off
 * again so that the connection goes on. A FIN is not data: when this side has sent one, the send queue
 * and its unsent part are counted without it, as criu does (the restore starts one before it).
 */
final class TcpDump {
    private static final long SIOCINQ = 0x541B;
    private static final long SIOCOUTQ = 0x5411;
    private static final long SIOCOUTQNSD = 0x894B;
    /** The largest queue dumped: a queue is at most the socket's buffer (net.core.[rw]mem_max). */
    static final int MAX_QUEUE = 1 << 30;

    private TcpDump() {
    }

    /** What one connection's tcp-stream image holds. */
    record Dumped(int state, TcpStreamEntry entry, byte[] inq, byte[] outq) {
        byte[] payload() {
            byte[] p = new byte[inq.length + outq.length];
            System.arraycopy(inq, 0, p, 0, inq.length);
            System.arraycopy(outq, 0, p, inq.length, outq.length);
            return p;
        }
    }

    /** The TCP state of {@code fd}: the first byte of TCP_INFO. */
    static int state(int fd) throws SysException {
        byte[] info = new byte[8];
        Sys.getsockopt(fd, SOL_TCP, InetConst.TCP_INFO, info);
        return info[0] & 0xff;
    }

    /** Reads the connection of {@code fd} in repair mode and leaves repair mode again. */
    static Dumped dump(int fd) throws IOException {
        // Repair mode sets and clears sk_reuse: the socket's SO_REUSEADDR is put back afterwards.
        int reuse = Sys.getsockoptInt(fd, InetConst.SOL_SOCKET, InetConst.SO_REUSEADDR);
        Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_ON);
        IOException failure = null;
        try {
            return read(fd);
        } catch (IOException e) {
            failure = e;
            throw e;
        } finally {
            try {
                Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_OFF);
                Sys.setsockoptInt(fd, InetConst.SOL_SOCKET, InetConst.SO_REUSEADDR, reuse);
            } catch (SysException e) {
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }

    private static Dumped read(int fd) throws IOException {
        byte[] info = new byte[104];
        Sys.getsockopt(fd, SOL_TCP, InetConst.TCP_INFO, info);
        int state = info[0] & 0xff;
        int optMask = info[5] & 0xff;
        int sndWscale = info[6] & 0x0f;
        int rcvWscale = (info[6] >> 4) & 0x0f;
        int outq = ioctlInt(fd, SIOCOUTQ);
        int unsq = ioctlInt(fd, SIOCOUTQNSD);
        if (InetSocket.finSent(state)) {
            outq = Math.max(0, outq - 1);
            unsq = Math.max(0, unsq - 1);
        }
        int inq = ioctlInt(fd, SIOCINQ);
        TcpStreamEntry.Builder b = TcpStreamEntry.newBuilder().setOptMask(optMask).setSndWscale(sndWscale)
                .setMssClamp(Sys.getsockoptInt(fd, SOL_TCP, InetConst.TCP_MAXSEG));
        if ((optMask & InetConst.TCPI_OPT_WSCALE) != 0) {
            b.setRcvWscale(rcvWscale);
        }
        if ((optMask & InetConst.TCPI_OPT_TIMESTAMPS) != 0) {
            b.setTimestamp(Sys.getsockoptInt(fd, SOL_TCP, InetConst.TCP_TIMESTAMP));
        }
        byte[] w = new byte[20];
        Sys.getsockopt(fd, SOL_TCP, InetConst.TCP_REPAIR_WINDOW, w);
        b.setSndWl1(InetConst.intAt(w, 0)).setSndWnd(InetConst.intAt(w, 4)).setMaxWindow(InetConst.intAt(w, 8))
                .setRcvWnd(InetConst.intAt(w, 12)).setRcvWup(InetConst.intAt(w, 16));
        Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_RECV_QUEUE);
        int inqSeq = Sys.getsockoptInt(fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ);
        byte[] in = queue(fd, inq, "receive");
        Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_SEND_QUEUE);
        int outqSeq = Sys.getsockoptInt(fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ);
        byte[] out = queue(fd, outq, "send");
        Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, 0);
        b.setInqLen(in.length).setInqSeq(inqSeq).setOutqLen(out.length).setOutqSeq(outqSeq).setUnsqLen(Math.min(unsq, out.length));
        return new Dumped(state, b.build(), in, out);
    }

    private static byte[] queue(int fd, int len, String which) throws IOException {
        if (len <= 0) {
            return new byte[0];
        }
        if (len > MAX_QUEUE) {
            throw new IOException("the " + which + " queue of " + len + " bytes is larger than " + MAX_QUEUE);
        }
        Sys.Peeked p = Sys.peek(fd, len);
        byte[] data = p == null ? new byte[0] : p.data();
        if (data.length != len) {
            throw new IOException("peeking the " + which + " queue in repair mode gave " + data.length + " of " + len
                    + " bytes");
        }
        return data;
    }

    private static int ioctlInt(int fd, long req) throws SysException {
        byte[] v = new byte[4];
        Sys.ioctl(fd, req, v);
        return InetConst.intAt(v, 0);
    }
}
