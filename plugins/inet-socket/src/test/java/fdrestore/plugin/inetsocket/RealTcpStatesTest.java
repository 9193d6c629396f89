package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Sys;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Half-closed TCP connections, dumped and restored against a live peer, as criu does it with an
 * external client: the original end is made on a loopback connection in this JVM's table, dumped with
 * {@link TcpDump} (repair mode), closed in repair mode (no FIN, no RST: the peer does not notice), and
 * restored by the engine into a private table. The peer then sees the same connection: the restored end
 * is in the same TCP state, its queued data arrives byte for byte, and the FINs are where they were.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealTcpStatesTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int FLOOR = 200;
    private static final int PID = 1;
    private static final int O_NONBLOCK = 04000;

    @TempDir
    Path tmp;

    private TaskRuntime runtime;
    private ExecutorTaskTable table;
    private Transport transport;
    private final List<Integer> local = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(PID, FLOOR);
        transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
    }

    @AfterEach
    void stop() {
        runtime.close();
        for (int fd : local) {
            Sys.closeQuietly(fd);
        }
    }

    /** A loopback connection in this JVM's table: {client, accepted server end}. */
    private int[] connection(int clientRcvbuf, int serverSndbuf) throws Exception {
        InetAddr lo = new InetAddr(AF_INET, new byte[] {127, 0, 0, 1}, 0, 0);
        int l = keep(Sys.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
        Sys.setsockoptInt(l, SOL_SOCKET, InetConst.SO_REUSEADDR, 1); // the accepted end inherits it
        Sys.bind(l, lo.sockaddr());
        Sys.listen(l, 4);
        int port = InetAddr.parse(Sys.getsockname(l)).port();
        int c = keep(Sys.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
        if (clientRcvbuf > 0) {
            Sys.setsockoptInt(c, SOL_SOCKET, InetConst.SO_RCVBUF, clientRcvbuf);
        }
        Sys.connect(c, new InetAddr(AF_INET, lo.addr(), port, 0).sockaddr());
        int s = keep(Sys.accept(l));
        if (serverSndbuf > 0) {
            Sys.setsockoptInt(s, SOL_SOCKET, InetConst.SO_SNDBUF, serverSndbuf);
        }
        Sys.fcntl(c, InetConst.F_SETFL, O_NONBLOCK);
        Sys.fcntl(s, InetConst.F_SETFL, O_NONBLOCK);
        return new int[] {c, s};
    }

    private int keep(int fd) {
        local.add(fd);
        return fd;
    }

    private static void waitState(int fd, int state) throws Exception {
        for (int i = 0; i < 5000 && TcpDump.state(fd) != state; i++) {
            Thread.sleep(1);
        }
        assertEquals(InetSocket.stateName(SOCK_STREAM, state), InetSocket.stateName(SOCK_STREAM, TcpDump.state(fd)));
    }

    /** Writes a counting pattern until the socket's buffers are full; returns what was written. */
    private static byte[] fill(int fd) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int k = 0;
        for (int idle = 0; idle < 50;) {
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = (byte) (k + i * 7);
            }
            int n = Sys.write(fd, chunk, 0, chunk.length);
            if (n < 0) {
                idle++;
                Thread.sleep(2);
                continue;
            }
            idle = 0;
            all.write(chunk, 0, n);
            k++;
        }
        return all.toByteArray();
    }

    /** Reads {@code fd} (non-blocking, this JVM's table) until end of file. */
    private static byte[] readToEof(int fd) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        long deadline = System.nanoTime() + 45_000_000_000L;
        while (System.nanoTime() < deadline) {
            int n = Sys.read(fd, buf, 0, buf.length);
            if (n == 0) {
                return all.toByteArray();
            }
            if (n < 0) {
                Thread.sleep(5);
                continue;
            }
            all.write(buf, 0, n);
        }
        throw new AssertionError("no end of file after " + all.size() + " bytes");
    }

    /** Dumps end {@code fd} of this JVM's table, closes it in repair mode, restores it as fd 5 of the task. */
    private void moveToTask(int fd, int expectedState) throws Exception {
        moveToTask(fd, expectedState, -1);
    }

    /** As above; {@code gonePeer} (when not -1) is closed silently before the restore, as an outside peer that is gone. */
    private void moveToTask(int fd, int expectedState, int gonePeer) throws Exception {
        int sndbuf = Sys.getsockoptInt(fd, SOL_SOCKET, InetConst.SO_SNDBUF);
        int rcvbuf = Sys.getsockoptInt(fd, SOL_SOCKET, InetConst.SO_RCVBUF);
        InetAddr src = InetAddr.parse(Sys.getsockname(fd));
        InetAddr dst = InetAddr.parse(Sys.getpeername(fd));
        assertEquals(1, Sys.getsockoptInt(fd, SOL_SOCKET, InetConst.SO_REUSEADDR));
        TcpDump.Dumped d = TcpDump.dump(fd);
        assertEquals(expectedState, d.state());
        assertEquals(1, Sys.getsockoptInt(fd, SOL_SOCKET, InetConst.SO_REUSEADDR), "repair mode on and off keeps it");
        Sys.setsockoptInt(fd, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_ON);
        Sys.close(fd);
        local.remove(Integer.valueOf(fd));
        if (gonePeer >= 0) {
            Sys.setsockoptInt(gonePeer, SOL_TCP, InetConst.TCP_REPAIR, InetConst.TCP_REPAIR_ON);
            Sys.close(gonePeer);
            local.remove(Integer.valueOf(gonePeer));
        }

        InetImageBuilder b = new InetImageBuilder().task(PID, 0);
        long f = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, d.state(), src.host(), src.port(),
                dst.host(), dst.port()).setFlags(02 | O_NONBLOCK).setOpts(InetImageBuilder.opts(sndbuf, rcvbuf)
                .setReuseaddr(true)));
        b.stream(f, d.entry().toByteArray(), d.inq(), d.outq());
        b.fd(PID, 5, f);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        PlanContext pc = Fixtures.planContext(images);
        InetKind kind = new InetKind();
        Engine.Builder eb = Engine.builder(transport).table(table);
        for (FileInfo fi : Fixtures.inetFiles(images)) {
            eb.file(fi, kind.name(), kind.plan(fi, pc));
        }
        Engine e = eb.build();
        assertTimeoutPreemptively(LIMIT, e::run);
        if (gonePeer >= 0) {
            // The socket's answer to the peer's FIN went nowhere: the kernel reset the connection. The fd is there.
            assertEquals(src, InetAddr.parse(table.getsockname(5)));
            return;
        }
        assertEquals(InetSocket.stateName(SOCK_STREAM, expectedState), InetSocket.stateName(SOCK_STREAM, restoredState()),
                "the restored end's TCP state");
        assertEquals(src, InetAddr.parse(table.getsockname(5)));
        byte[] reuse = new byte[4];
        table.getsockopt(5, SOL_SOCKET, InetConst.SO_REUSEADDR, reuse);
        assertEquals(1, InetConst.intAt(reuse, 0), "SO_REUSEADDR, which leaving repair mode clears");
        assertEquals(dst, InetAddr.parse(table.getpeername(5)));
    }

    private int restoredState() throws Exception {
        byte[] info = new byte[8];
        table.getsockopt(5, SOL_TCP, InetConst.TCP_INFO, info);
        return info[0] & 0xff;
    }

    private byte[] readRestored(int n) throws Exception {
        byte[] out = new byte[n];
        int off = 0;
        for (int i = 0; off < n && i < 5000; i++) {
            int k = table.read(5, out, off, n - off);
            if (k > 0) {
                off += k;
            } else {
                Thread.sleep(1);
            }
        }
        assertEquals(n, off, "bytes read from the restored end");
        return out;
    }

    private int readRestoredEof() throws Exception {
        byte[] b = new byte[16];
        for (int i = 0; i < 5000; i++) {
            int k = table.read(5, b, 0, b.length);
            if (k >= 0) {
                return k;
            }
            Thread.sleep(1);
        }
        return -1;
    }

    @Test
    void closeWaitKeepsItsUnreadDataAndTheFinAfterIt() throws Exception {
        int[] cs = connection(0, 0);
        byte[] toServer = "before the client's FIN".getBytes(StandardCharsets.UTF_8);
        assertEquals(toServer.length, Sys.write(cs[0], toServer, 0, toServer.length));
        Sys.shutdown(cs[0], InetConst.SHUT_WR);
        waitState(cs[1], InetConst.TCP_CLOSE_WAIT);
        waitState(cs[0], InetConst.TCP_FIN_WAIT2);

        moveToTask(cs[1], InetConst.TCP_CLOSE_WAIT);

        assertArrayEquals(toServer, readRestored(toServer.length));
        assertEquals(0, readRestoredEof(), "the client's FIN follows its data");
        byte[] reply = "the server still writes".getBytes(StandardCharsets.UTF_8);
        assertEquals(reply.length, table.send(5, reply, 0, reply.length, new int[0], 0));
        table.shutdown(5, InetConst.SHUT_WR);
        assertArrayEquals(reply, readToEof(cs[0]));
    }

    @Test
    void finWait2ReceivesWhatThePeerStillSends() throws Exception {
        int[] cs = connection(0, 0);
        Sys.shutdown(cs[1], InetConst.SHUT_WR);
        waitState(cs[1], InetConst.TCP_FIN_WAIT2);
        byte[] early = "queued at the dump".getBytes(StandardCharsets.UTF_8);
        assertEquals(early.length, Sys.write(cs[0], early, 0, early.length));
        waitFor(() -> TcpDump.state(cs[0]) == InetConst.TCP_CLOSE_WAIT);

        moveToTask(cs[1], InetConst.TCP_FIN_WAIT2);

        assertArrayEquals(early, readRestored(early.length));
        byte[] late = "sent after the restore".getBytes(StandardCharsets.UTF_8);
        assertEquals(late.length, Sys.write(cs[0], late, 0, late.length));
        assertArrayEquals(late, readRestored(late.length));
        Sys.shutdown(cs[0], InetConst.SHUT_WR);
        assertEquals(0, readRestoredEof());
        assertEquals(0, readToEof(cs[0]).length, "the server's FIN was acknowledged and delivered before the dump");
    }

    @Test
    void lastAckSendsItsQueuedDataThenItsFin() throws Exception {
        int[] cs = connection(4096, 65536);
        Sys.shutdown(cs[0], InetConst.SHUT_WR);
        waitState(cs[1], InetConst.TCP_CLOSE_WAIT);
        byte[] sent = fill(cs[1]);
        Sys.shutdown(cs[1], InetConst.SHUT_WR);
        waitState(cs[1], InetConst.TCP_LAST_ACK);

        moveToTask(cs[1], InetConst.TCP_LAST_ACK);

        assertArrayEquals(sent, readToEof(cs[0]), "every byte the server wrote, then its FIN");
    }

    @Test
    void finWait1AndClosingSendTheirQueuedDataThenTheirFin() throws Exception {
        for (boolean closing : new boolean[] {false, true}) {
            int[] cs = connection(4096, 65536);
            byte[] sent = fill(cs[1]);
            Sys.shutdown(cs[1], InetConst.SHUT_WR);
            waitState(cs[1], InetConst.TCP_FIN_WAIT1);
            if (closing) {
                Sys.shutdown(cs[0], InetConst.SHUT_WR);
                waitState(cs[1], InetConst.TCP_CLOSING);
            }
            moveToTask(cs[1], closing ? InetConst.TCP_CLOSING : InetConst.TCP_FIN_WAIT1);

            assertArrayEquals(sent, readToEof(cs[0]), "every byte the server wrote, then its FIN");
            if (!closing) {
                Sys.shutdown(cs[0], InetConst.SHUT_WR);
                assertEquals(0, readRestoredEof());
            }
            table.close(5);
        }
    }

    @Test
    void aPeerOutsideTheImagesThatIsGoneDoesNotStopTheRestore() throws Exception {
        // close-wait: the socket answers the peer's FIN segment, and the answer is reset.
        int[] cs = connection(0, 0);
        Sys.shutdown(cs[0], InetConst.SHUT_WR);
        waitState(cs[1], InetConst.TCP_CLOSE_WAIT);
        moveToTask(cs[1], InetConst.TCP_CLOSE_WAIT, cs[0]);
        table.close(5);

        // established with unsent data (socket-tcpbuf): sending it after repair mode meets the reset.
        int[] es = connection(4096, 65536);
        fill(es[1]);
        moveToTask(es[1], InetConst.TCP_ESTABLISHED, es[0]);
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check c) throws Exception {
        for (int i = 0; i < 5000; i++) {
            if (c.ok()) {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("condition never met");
    }
}
