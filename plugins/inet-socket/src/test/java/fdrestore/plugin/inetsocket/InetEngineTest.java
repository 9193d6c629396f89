package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;
import static fdrestore.plugin.inetsocket.InetConst.TCP_CLOSE;
import static fdrestore.plugin.inetsocket.InetConst.TCP_ESTABLISHED;
import static fdrestore.plugin.inetsocket.InetConst.TCP_LISTEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.ImageSet;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.PlanContext;
import fdrestore.core.spi.TaskTable;
import fdrestore.core.spi.Transport;
import fdrestore.core.sys.Errno;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import fdrestore.testkit.Samples;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin driven by the engine over the testkit's fake kernel, several tasks at once: who creates
 * what, the order of forced and restored SO_REUSEADDR/SO_REUSEPORT around every bind of a shared port,
 * the repair sequence and when repair mode is left, and what is left after a failure.
 */
class InetEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FLOOR = 1000;

    @TempDir
    Path tmp;

    private final FakeKernel kernel = new FakeKernel();
    /** Every call on every table, in the order they happened: "pid call fd args". */
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());

    /** A fake table that records each call with its arguments (ints of 4-byte values decoded). */
    private TaskTable recorded(FakeTaskTable fake) {
        return mock(TaskTable.class, inv -> {
            StringBuilder sb = new StringBuilder().append(fake.pid()).append(' ').append(inv.getMethod().getName());
            for (Object a : inv.getArguments()) {
                sb.append(' ').append(a instanceof byte[] b ? (b.length == 4 ? "=" + InetConst.intAt(b, 0) : "<" + b.length + ">")
                        : String.valueOf(a));
            }
            events.add(sb.toString());
            try {
                return inv.getMethod().invoke(fake, inv.getArguments());
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    private final java.util.Map<TaskTable, FakeTaskTable> fakes = new java.util.IdentityHashMap<>();

    /** The fake kernel's transport, given the fake table behind each recording table. */
    private Transport transport() {
        Transport real = kernel.transport();
        return mock(Transport.class, inv -> {
            Object[] args = inv.getArguments().clone();
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof TaskTable t && fakes.containsKey(t)) {
                    args[i] = fakes.get(t);
                }
            }
            try {
                return inv.getMethod().invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    private Engine engine(ImageSet images, int... pids) throws Exception {
        Engine.Builder b = Engine.builder(transport());
        for (int pid : pids) {
            FakeTaskTable fake = kernel.table(pid, FLOOR);
            TaskTable t = recorded(fake);
            fakes.put(t, fake);
            b.table(t);
        }
        PlanContext pc = Fixtures.planContext(images);
        InetKind kind = new InetKind();
        for (FileInfo f : Fixtures.inetFiles(images)) {
            b.file(f, kind.name(), kind.plan(f, pc));
        }
        return b.build();
    }

    private int first(String prefix) {
        synchronized (events) {
            for (int i = 0; i < events.size(); i++) {
                if (events.get(i).startsWith(prefix)) {
                    return i;
                }
            }
        }
        throw new AssertionError("no event " + prefix + " in\n" + String.join("\n", events));
    }

    private int last(String prefix) {
        synchronized (events) {
            for (int i = events.size() - 1; i >= 0; i--) {
                if (events.get(i).startsWith(prefix)) {
                    return i;
                }
            }
        }
        throw new AssertionError("no event " + prefix + " in\n" + String.join("\n", events));
    }

    private static String opt(int pid, int fd, int level, int name, int value) {
        return pid + " setsockopt " + fd + " " + level + " " + name + " =" + value;
    }

    @Test
    void hTcpEachListenerIsCreatedOnceAndSharedWithTheChild() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        Engine e = engine(images, 19273, 19275);
        assertTimeoutPreemptively(LIMIT, e::run);
        FakeTaskTable root = kernel.table(19273);
        FakeTaskTable child = kernel.table(19275);
        assertEquals(List.of(3, 4), root.openFds());
        assertEquals(List.of(3, 4), child.openFds());
        assertSame(root.file(3), child.file(3), "one description in both tasks");
        assertSame(root.file(4), child.file(4));
        assertEquals(2, events.stream().filter(x -> x.contains(" socket ")).count(), String.join("\n", events));
        assertEquals(2, events.stream().filter(x -> x.equals("19273 listen " + FLOOR + " 8")).count(), "backlog 8");
        // The IPv6 one: IPV6_V6ONLY=1 before its bind (temporaries reuse the floor once placed).
        int v6only = first(opt(19273, FLOOR, InetConst.SOL_IPV6, InetConst.IPV6_V6ONLY, 1));
        assertTrue(v6only < first("19273 bind " + FLOOR + " <28>"));
        assertEquals(List.of(), root.temporaries());
    }

    @Test
    void usersOfASharedPortBindWithReuseForcedAndGetTheirOwnValuesAfterTheLastBind() throws Exception {
        InetImageBuilder b = new InetImageBuilder().task(1, 0).task(2, 1);
        long listener = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 5000,
                "0.0.0.0", 0).setBacklog(2));
        long bound = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_CLOSE, "0.0.0.0", 5000,
                "0.0.0.0", 0).setOpts(InetImageBuilder.opts(16384, 131072).setReuseaddr(true)));
        b.fd(1, 3, listener).fd(2, 3, bound);
        Engine e = engine(ImageSet.open(b.write(tmp)), 1, 2);
        assertTimeoutPreemptively(LIMIT, e::run);

        int fd = FLOOR; // the first temporary of each table
        int bind1 = first("1 bind " + fd);
        int bind2 = first("2 bind " + fd);
        for (int pid = 1; pid <= 2; pid++) {
            int bind = pid == 1 ? bind1 : bind2;
            assertTrue(first(opt(pid, fd, SOL_SOCKET, InetConst.SO_REUSEADDR, 1)) < bind, "forced SO_REUSEADDR, task " + pid);
            assertTrue(first(opt(pid, fd, SOL_SOCKET, InetConst.SO_REUSEPORT, 1)) < bind, "forced SO_REUSEPORT, task " + pid);
            // Own values, after both binds (the fd has its final number 3 by then, or is still the temporary).
            int own = Math.max(lastOpt(pid, SOL_SOCKET, InetConst.SO_REUSEPORT, 0), 0);
            assertTrue(own > Math.max(bind1, bind2), "own SO_REUSEPORT of task " + pid + " after both binds:\n"
                    + String.join("\n", events));
        }
        assertTrue(lastOpt(1, SOL_SOCKET, InetConst.SO_REUSEADDR, 0) > Math.max(bind1, bind2));
        assertTrue(lastOpt(2, SOL_SOCKET, InetConst.SO_REUSEADDR, 1) > Math.max(bind1, bind2));
        assertEquals(List.of(3), kernel.table(1).openFds());
        assertEquals(List.of(3), kernel.table(2).openFds());
    }

    /** The last setsockopt of (level, name) to {@code value} in task {@code pid}, on any fd. */
    private int lastOpt(int pid, int level, int name, int value) {
        synchronized (events) {
            for (int i = events.size() - 1; i >= 0; i--) {
                String[] w = events.get(i).split(" ");
                if (w.length == 6 && w[0].equals("" + pid) && w[1].equals("setsockopt") && w[3].equals("" + level)
                        && w[4].equals("" + name) && w[5].equals("=" + value)) {
                    return i;
                }
            }
        }
        throw new AssertionError("no setsockopt " + level + "/" + name + "=" + value + " in task " + pid + ":\n"
                + String.join("\n", events));
    }

    @Test
    void bothEndsOfAConnectionLeaveRepairModeOnlyOnceBothAreConnected() throws Exception {
        InetImageBuilder b = new InetImageBuilder().task(1, 0).task(2, 1);
        long s = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 5000,
                "127.0.0.1", 41000));
        long c = b.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 41000,
                "127.0.0.1", 5000));
        b.stream(s, InetImageBuilder.streamMessage(2, 1000, 3, 2000, 4, 7, 65483, 7, null, null, null, 1),
                new byte[] {1, 2}, new byte[] {3, 4, 5});
        b.stream(c, InetImageBuilder.streamMessage(0, 2000, 0, 1000, 0, 0, 1460), new byte[0], new byte[0]);
        b.fd(1, 4, s).fd(2, 6, c);
        Engine e = engine(ImageSet.open(b.write(tmp)), 1, 2);
        assertTimeoutPreemptively(LIMIT, e::run);

        int fd = FLOOR;
        int repairOn = first(opt(1, fd, SOL_TCP, InetConst.TCP_REPAIR, 1));
        assertTrue(repairOn < first("1 bind " + fd));
        // Sequence numbers: the start of each queue (seq - len).
        assertTrue(first(opt(1, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, 998)) < first("1 connect " + fd));
        assertTrue(first(opt(1, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, 1997)) < first("1 connect " + fd));
        assertTrue(first("1 connect " + fd) < first("1 setsockopt " + fd + " 6 " + InetConst.TCP_REPAIR_OPTIONS));
        // Receive queue (2 bytes) and the sent part of the send queue (2 bytes), in repair mode.
        int recvQ = first(opt(1, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_RECV_QUEUE));
        int sends = 0;
        int repairOff1 = lastOpt(1, SOL_TCP, InetConst.TCP_REPAIR, 0);
        int repairOff2 = lastOpt(2, SOL_TCP, InetConst.TCP_REPAIR, 0);
        synchronized (events) {
            for (int i = 0; i < events.size(); i++) {
                if (events.get(i).startsWith("1 send ")) {
                    sends++;
                    assertTrue(i > recvQ);
                }
            }
        }
        assertEquals(3, sends, "receive queue, sent part of the send queue, then the unsent byte:\n" + String.join("\n", events));
        assertTrue(last("1 send ") > repairOff1, "the unsent byte goes out after repair mode is left");
        // Neither end leaves repair mode before the other is connected.
        assertTrue(repairOff1 > first("2 connect "), String.join("\n", events));
        assertTrue(repairOff2 > first("1 connect "), String.join("\n", events));
        assertEquals(List.of(4), kernel.table(1).openFds());
        assertEquals(List.of(6), kernel.table(2).openFds());
    }

    @Test
    void aFailingSetsockoptNamesTheSocketAndClosesIt() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        Engine e = engine(images, 19273, 19275);
        kernel.table(19273).failOn("setsockopt", 3, Errno.EINVAL);
        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("tcp socket 127.0.0.1:40123 (listen, file 5)"), x.getMessage());
        assertTrue(x.getMessage().contains("setsockopt"), x.getMessage());
        assertTrue(x.getMessage().contains("task 19273") && x.getMessage().contains("fd 3"), x.getMessage());
        assertEquals(List.of(), kernel.table(19273).temporaries(), "the socket was closed on the error path");
    }

    @Test
    void aBindInUseNamesFamilyAddressAndPort() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        Engine e = engine(images, 19273, 19275);
        kernel.table(19273).failOn("bind", 2, Errno.EADDRINUSE);
        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("tcp6 socket [::1]:40124 (listen, file 6): cannot bind [::1]:40124:"
                + " the address is already in use (EADDRINUSE)"), x.getMessage());
        assertNotNull(x.getCause());
        assertEquals(List.of(), kernel.table(19273).temporaries());
    }
}
