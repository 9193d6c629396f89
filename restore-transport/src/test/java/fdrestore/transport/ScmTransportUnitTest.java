package fdrestore.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.InOrder;

/** The transport's logic against a mocked {@link TaskTable}: addresses, wire format, refusals, cleanup. */
class ScmTransportUnitTest {
    private static final long TOKEN = 0x1122334455667788L;
    private static final int SELF = 4242;
    private static final int SOCK = 900;

    private static TaskTable table(int pid) throws SysException {
        TaskTable t = mock(TaskTable.class);
        when(t.pid()).thenReturn(pid);
        when(t.socket(anyInt(), anyInt(), anyInt())).thenReturn(SOCK);
        // a table that cannot batch these calls: the transport makes them one by one
        when(t.batch()).thenThrow(new UnsupportedOperationException("no batches"));
        return t;
    }

    /** A table whose batch is the mock {@code b}; its fd(SOCK) is {@code s}. */
    private static TaskTable batchingTable(int pid, Batch b, Batch.Ref s) throws SysException {
        TaskTable t = mock(TaskTable.class);
        when(t.pid()).thenReturn(pid);
        when(t.socket(anyInt(), anyInt(), anyInt())).thenReturn(SOCK);
        when(t.batch()).thenReturn(b);
        when(b.fd(SOCK)).thenReturn(s);
        when(b.size()).thenReturn(2, 4); // after fd and SO_PASSCRED; after the buffers (then the bind is 4)
        return t;
    }

    @Test
    void theSocketIsSetUpAndBoundInOneBatch() throws Exception {
        Batch b = mock(Batch.class);
        Batch.Ref s = mock(Batch.Ref.class);
        TaskTable t = batchingTable(12, b, s);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(t);
        InOrder o = inOrder(b);
        o.verify(b).setsockopt(s, Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[] {1, 0, 0, 0});
        o.verify(b).setsockopt(eq(s), eq(Linux.SOL_SOCKET), eq(Linux.SO_RCVBUF), any());
        o.verify(b).setsockopt(eq(s), eq(Linux.SOL_SOCKET), eq(Linux.SO_SNDBUF), any());
        o.verify(b).bind(s, TransportNames.address("run1", 12));
        o.verify(b).run();
        verify(t, never()).setsockopt(anyInt(), anyInt(), anyInt(), any());
        verify(t, never()).bind(anyInt(), any());
        assertEquals(SOCK, tr.endpointFd(12));
    }

    @Test
    void aSquattedNameInTheBatchIsReportedAndTheSocketClosed() throws Exception {
        Batch b = mock(Batch.class);
        TaskTable t = batchingTable(12, b, mock(Batch.Ref.class));
        doThrow(new SysException("bind(900, @fdrestore-run1-12)", Errno.EADDRINUSE)).when(b).run();
        when(b.failedCall()).thenReturn(4);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        SysException e = assertThrows(Transport.NameTaken.class, () -> tr.open(t));
        assertTrue(e.getMessage().contains("fdrestore-run1-12"), e.getMessage());
        verify(t).close(SOCK);
        assertEquals(-1, tr.endpointFd(12));
    }

    @Test
    void aPasscredRefusedInTheBatchFailsTheEndpoint() throws Exception {
        Batch b = mock(Batch.class);
        TaskTable t = batchingTable(12, b, mock(Batch.Ref.class));
        doThrow(new SysException("setsockopt(fd 900, SO_PASSCRED)", Errno.ENOMEM)).when(b).run();
        when(b.failedCall()).thenReturn(1);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        SysException e = assertThrows(SysException.class, () -> tr.open(t));
        assertEquals(Errno.ENOMEM, e.errno(), "no endpoint without the sender's credentials on every datagram");
        verify(t, never()).setsockopt(anyInt(), anyInt(), anyInt(), any());
        verify(t).close(SOCK);
        assertEquals(-1, tr.endpointFd(12));
    }

    @Test
    void aBufferRefusedInTheBatchFallsBackToOneCallAtATime() throws Exception {
        Batch b = mock(Batch.class);
        TaskTable t = batchingTable(12, b, mock(Batch.Ref.class));
        doThrow(new SysException("setsockopt(900, SO_RCVBUF)", Errno.EPERM)).when(b).run();
        when(b.failedCall()).thenReturn(2);
        doThrow(new SysException("setsockopt(900, SO_RCVBUF)", Errno.EPERM)).when(t)
                .setsockopt(eq(SOCK), eq(Linux.SOL_SOCKET), eq(Linux.SO_RCVBUF), any());
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(t);
        verify(t).setsockopt(SOCK, Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[] {1, 0, 0, 0});
        verify(t).bind(SOCK, TransportNames.address("run1", 12));
        verify(t, never()).close(SOCK);
        assertEquals(SOCK, tr.endpointFd(12));
    }

    @Test
    void runIdsAreRandomHex() {
        String a = TransportNames.newRunId();
        String b = TransportNames.newRunId();
        assertTrue(a.matches("[0-9a-f]{16}"), a);
        assertFalse(a.equals(b));
        assertTrue(ScmTransport.create().runId().matches("[0-9a-f]{16}"));
        assertThrows(IllegalArgumentException.class, () -> new ScmTransport("bad/id"));
        assertThrows(IllegalArgumentException.class, () -> new ScmTransport(""));
        assertThrows(IllegalArgumentException.class, () -> new ScmTransport("x".repeat(65)));
    }

    @Test
    void addressIsAbstractSockaddrUnWithoutTrailingNul() {
        byte[] a = TransportNames.address("0123abcd", 77);
        byte[] name = "fdrestore-0123abcd-77".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(3 + name.length, a.length);
        assertEquals(Linux.AF_UNIX, a[0]);
        assertEquals(0, a[1]);
        assertEquals(0, a[2], "abstract names start with a NUL byte");
        assertArrayEquals(name, Arrays.copyOfRange(a, 3, a.length));
    }

    @Test
    void openCreatesPasscredSocketAndBindsTheTaskName() throws Exception {
        TaskTable t = table(12);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(t);
        InOrder o = inOrder(t);
        o.verify(t).socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, 0);
        o.verify(t).setsockopt(SOCK, Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[] {1, 0, 0, 0});
        o.verify(t).bind(SOCK, TransportNames.address("run1", 12));
        assertEquals(SOCK, tr.endpointFd(12));
        assertThrows(IllegalStateException.class, () -> tr.open(t));
        tr.close(t);
        verify(t).close(SOCK);
        assertEquals(-1, tr.endpointFd(12));
        tr.close(t); // idempotent: nothing left to close
        verify(t).close(SOCK);
    }

    @Test
    void squattedNameIsReportedAndTheSocketClosed() throws Exception {
        TaskTable t = table(12);
        doThrow(new SysException("bind(900, @fdrestore-run1-12)", Errno.EADDRINUSE)).when(t).bind(eq(SOCK), any());
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        SysException e = assertThrows(Transport.NameTaken.class, () -> tr.open(t));
        assertTrue(ScmTransport.isNameTaken(e));
        assertTrue(ScmTransport.isNameTaken(new IOException("wrapped", e)));
        assertTrue(e.getMessage().contains("fdrestore-run1-12") && e.getMessage().contains("already taken"),
                e.getMessage());
        verify(t).close(SOCK);
        assertEquals(-1, tr.endpointFd(12));
    }

    @Test
    void otherBindErrorsAreNotNameTaken() throws Exception {
        TaskTable t = table(12);
        doThrow(new SysException("bind(900, @x)", Errno.EACCES)).when(t).bind(eq(SOCK), any());
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        SysException e = assertThrows(SysException.class, () -> tr.open(t));
        assertFalse(ScmTransport.isNameTaken(e));
        assertFalse(ScmTransport.isNameTaken(new SysException("open(\"/x\")", Errno.EADDRINUSE)));
        verify(t).close(SOCK);
    }

    @Test
    void sendEncodesTagsAndTargetsTheReceiversName() throws Exception {
        TaskTable from = table(1);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(from);
        when(from.sendFds(anyInt(), any(), any(), anyInt(), any(), anyInt())).thenReturn(40, TaskTable.AGAIN);
        int[] fds = {500, 501, 502};
        long[] tags = {7, -1, 1L << 60};
        assertTrue(tr.send(from, 2, fds, tags, 3));
        ArgumentCaptor<byte[]> payload = ArgumentCaptor.forClass(byte[].class);
        verify(from).sendFds(eq(SOCK), eq(TransportNames.address("run1", 2)), payload.capture(), eq(16 + 24),
                eq(fds), eq(3));
        byte[] p = payload.getValue();
        assertEquals(ScmTransport.MAGIC, ScmTransport.getInt(p, 0));
        assertEquals(TOKEN, ScmTransport.getLong(p, 4));
        assertEquals(3, ScmTransport.getInt(p, 12));
        assertEquals(-1L, ScmTransport.getLong(p, 24));
        assertFalse(tr.send(from, 2, fds, tags, 3), "a full queue answers false");
        assertThrows(IllegalArgumentException.class, () -> tr.send(from, 2, fds, tags, 0));
        assertThrows(IllegalArgumentException.class,
                () -> tr.send(from, 2, new int[300], new long[300], Transport.MAX_FDS + 1));
        assertThrows(IllegalStateException.class, () -> tr.send(table(3), 2, fds, tags, 1));
    }

    /** Queues datagrams on a mocked table: each is (payload, fds, sender pid, truncated). */
    private static void queue(TaskTable t, Object[]... msgs) throws SysException {
        int[] next = {0};
        doAnswer(inv -> {
            if (next[0] == msgs.length) {
                return TaskTable.Received.AGAIN;
            }
            Object[] m = msgs[next[0]++];
            byte[] p = (byte[]) m[0];
            int[] f = (int[]) m[1];
            byte[] buf = inv.getArgument(1);
            int[] out = inv.getArgument(2);
            System.arraycopy(p, 0, buf, 0, Math.min(p.length, buf.length));
            System.arraycopy(f, 0, out, 0, f.length);
            return new TaskTable.Received(Math.min(p.length, buf.length), f.length, (Integer) m[2], 0,
                    (Boolean) m[3] || p.length > buf.length);
        }).when(t).recvFds(eq(SOCK), any(), any());
    }

    @Test
    void receiveDropsEveryBadDatagramClosesItsFdsAndReturnsTheGoodOne() throws Exception {
        TaskTable t = table(5);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(t);
        byte[] good = tr.encode(new long[] {41, 42}, 2);
        byte[] wrongToken = ScmTransport.encode(TOKEN + 1, new long[] {1}, 1);
        byte[] badMagic = good.clone();
        badMagic[0] ^= 1;
        byte[] longer = Arrays.copyOf(good, good.length + 8);
        byte[] badCount = good.clone();
        ScmTransport.putInt(badCount, 12, 254);
        queue(t,
                new Object[] {good, new int[] {600, 601}, SELF + 1, false},     // foreign pid
                new Object[] {good, new int[] {602, 603}, -1, false},           // no credentials
                new Object[] {wrongToken, new int[] {604}, SELF, false},        // forged in our own pid
                new Object[] {badMagic, new int[] {605, 606}, SELF, false},
                new Object[] {good, new int[] {607}, SELF, false},              // 2 tags, 1 fd
                new Object[] {longer, new int[] {608, 609}, SELF, false},
                new Object[] {badCount, new int[] {}, SELF, false},
                new Object[] {new byte[3], new int[] {}, SELF, false},          // garbage
                new Object[] {new byte[100_000], new int[] {610}, SELF, false}, // huge: truncated
                new Object[] {good, new int[] {611, 612}, SELF, true},          // truncated control data
                new Object[] {good, new int[] {700, 701}, SELF, false});
        int[] fds = new int[Transport.MAX_FDS];
        long[] tags = new long[Transport.MAX_FDS];
        assertEquals(2, tr.receive(t, fds, tags));
        assertArrayEquals(new int[] {700, 701}, Arrays.copyOf(fds, 2));
        assertArrayEquals(new long[] {41, 42}, Arrays.copyOf(tags, 2));
        assertEquals(10, tr.dropped());
        assertEquals(10, tr.dropReports().size());
        for (int fd = 600; fd <= 612; fd++) {
            verify(t).close(fd);
        }
        verify(t, never()).close(700);
        verify(t, never()).close(701);
        assertEquals(-1, tr.receive(t, fds, tags));
    }

    @Test
    void aFailedCloseOfADroppedFdStillClosesTheOthers() throws Exception {
        TaskTable t = table(5);
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        tr.open(t);
        queue(t, new Object[] {new byte[20], new int[] {600, 601, 602}, SELF + 1, false});
        doThrow(new SysException("close(601)", Errno.EBADF)).when(t).close(601);
        SysException e = assertThrows(SysException.class,
                () -> tr.receive(t, new int[Transport.MAX_FDS], new long[Transport.MAX_FDS]));
        assertEquals(Errno.EBADF, e.errno());
        verify(t).close(600);
        verify(t).close(602);
        assertEquals(1, tr.dropped());
    }

    @Test
    void refuseAcceptsExactlyAWellFormedMessage() {
        ScmTransport tr = new ScmTransport("run1", TOKEN, SELF);
        long[] tags = new long[Transport.MAX_FDS];
        Arrays.fill(tags, 9);
        byte[] p = tr.encode(tags, Transport.MAX_FDS);
        assertEquals(ScmTransport.MAX_PAYLOAD, p.length);
        assertNull(tr.refuse(new TaskTable.Received(p.length, Transport.MAX_FDS, SELF, 0, false), p));
        assertTrue(tr.refuse(new TaskTable.Received(p.length, Transport.MAX_FDS - 1, SELF, 0, false), p)
                .contains("fds"));
    }
}
