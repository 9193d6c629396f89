package fdrestore.plugin.inetsocket;

import static fdrestore.plugin.inetsocket.InetConst.AF_INET;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_TCP;
import static fdrestore.plugin.inetsocket.InetConst.IPPROTO_UDP;
import static fdrestore.plugin.inetsocket.InetConst.SOCK_STREAM;
import static fdrestore.plugin.inetsocket.InetConst.SOL_SOCKET;
import static fdrestore.plugin.inetsocket.InetConst.SOL_TCP;
import static fdrestore.plugin.inetsocket.InetConst.TCP_CLOSE;
import static fdrestore.plugin.inetsocket.InetConst.TCP_ESTABLISHED;
import static fdrestore.plugin.inetsocket.InetConst.TCP_LISTEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;

import fdrestore.api.image.proto.IpOptsEntry;
import fdrestore.api.image.proto.IpOptsRawEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.Samples;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The file-kind contract for inet sockets, with every call of every task recorded in one ordered log:
 * listeners shared by two tasks (the h_tcp sample), a port shared by two sockets (forced and restored
 * SO_REUSEADDR/SO_REUSEPORT around the binds), both ends of a connection in repair mode; every failure
 * names the socket and the call and closes the socket.
 */
class InetContractTest extends FileKindContractTest {
    @Override
    protected FileKind kind() {
        return new InetKind();
    }

    /** The fake tables behind recording proxies: every call, in order, as "pid call fd args" (4-byte values decoded). */
    static final class Recording implements Environment {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        private final FakeKernel kernel;
        private final Map<TaskTable, FakeTaskTable> fakes = Collections.synchronizedMap(new IdentityHashMap<>());

        Recording(FakeKernel kernel) {
            this.kernel = kernel;
        }

        @Override
        public TaskTable table(int pid, int floor) {
            FakeTaskTable fake = kernel.table(pid, floor);
            TaskTable t = mock(TaskTable.class, inv -> {
                StringBuilder sb = new StringBuilder().append(fake.pid()).append(' ').append(inv.getMethod().getName());
                for (Object a : inv.getArguments()) {
                    sb.append(' ').append(a instanceof byte[] b ? (b.length == 4 ? "=" + InetConst.intAt(b, 0)
                            : "<" + b.length + ">") : String.valueOf(a));
                }
                events.add(sb.toString());
                try {
                    return inv.getMethod().invoke(fake, inv.getArguments());
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
            fakes.put(t, fake);
            return t;
        }

        /** The fake kernel's transport, given the fake table behind each recording table. */
        @Override
        public Transport transport() {
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

        int first(String prefix) {
            synchronized (events) {
                for (int i = 0; i < events.size(); i++) {
                    if (events.get(i).startsWith(prefix)) {
                        return i;
                    }
                }
            }
            throw new AssertionError("no event " + prefix + " in\n" + String.join("\n", events));
        }

        int last(String prefix) {
            synchronized (events) {
                for (int i = events.size() - 1; i >= 0; i--) {
                    if (events.get(i).startsWith(prefix)) {
                        return i;
                    }
                }
            }
            throw new AssertionError("no event " + prefix + " in\n" + String.join("\n", events));
        }

        /** The last setsockopt of (level, name) to {@code value} in task {@code pid}, on any fd. */
        int lastOpt(int pid, int level, int name, int value) {
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

        String all() {
            synchronized (events) {
                return String.join("\n", events);
            }
        }
    }

    @Override
    protected Environment environment(FakeKernel kernel) {
        return new Recording(kernel);
    }

    private static Recording rec(Restore x) {
        return (Recording) x.environment();
    }

    private static String opt(int pid, int fd, int level, int name, int value) {
        return pid + " setsockopt " + fd + " " + level + " " + name + " =" + value;
    }

    /** Every error names the failing call and, for the sockets in {@code names}, the socket. */
    private static Scenario namesTheSocket(Scenario s, Map<Long, String> names) {
        return s.onFault(f -> {
            // (Its name: the fd in it may differ between runs, as the other task may have placed its fd already.)
            String call = f.call().substring(0, f.call().indexOf('(') + 1);
            assertTrue(f.mentions(call), "the error names the call " + f.call() + ": " + f.error().getMessage());
            String name = names.get(f.fileId());
            assertTrue(name == null || f.mentions(name), "the error names " + name + ": " + f.error().getMessage());
        });
    }

    @Override
    protected List<Scenario> scenarios() throws Exception {
        InetImageBuilder port = new InetImageBuilder().task(1, 0).task(2, 1);
        long listener = port.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_LISTEN, "127.0.0.1", 5000,
                "0.0.0.0", 0).setBacklog(2));
        long bound = port.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_CLOSE, "0.0.0.0", 5000,
                "0.0.0.0", 0).setOpts(InetImageBuilder.opts(16384, 131072).setReuseaddr(true)));
        port.fd(1, 3, listener).fd(2, 3, bound);

        InetImageBuilder conn = new InetImageBuilder().task(1, 0).task(2, 1);
        long s = conn.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 5000,
                "127.0.0.1", 41000));
        long c = conn.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 41000,
                "127.0.0.1", 5000));
        conn.stream(s, InetImageBuilder.streamMessage(2, 1000, 3, 2000, 4, 7, 65483, 7, null, null, null, 1),
                new byte[] {1, 2}, new byte[] {3, 4, 5});
        conn.stream(c, InetImageBuilder.streamMessage(0, 2000, 0, 1000, 0, 0, 1460), new byte[0], new byte[0]);
        conn.fd(1, 4, s).fd(2, 6, c);

        InetImageBuilder raw = new InetImageBuilder().task(1, 0).task(2, 1);
        long icmp = raw.socket(InetImageBuilder.sk(AF_INET, InetConst.SOCK_RAW, InetConst.IPPROTO_ICMP, TCP_CLOSE,
                "127.0.0.14", 1, "0.0.0.0", 0).setIpOpts(IpOptsEntry.newBuilder().setTtl(64)
                .setRaw(IpOptsRawEntry.newBuilder().addIcmpvFilter(0x2000))));
        long udp6 = raw.socket(InetImageBuilder.sk(InetConst.AF_INET6, InetConst.SOCK_RAW, IPPROTO_UDP, TCP_CLOSE,
                "::", 17, "::", 0).setV6Only(false).setIpOpts(IpOptsEntry.newBuilder().setPktinfo(true)
                .setRaw(IpOptsRawEntry.newBuilder().setHdrincl(true))));
        long ping = raw.socket(InetImageBuilder.sk(AF_INET, InetConst.SOCK_DGRAM, InetConst.IPPROTO_ICMP, TCP_CLOSE,
                "0.0.0.0", 0, "0.0.0.0", 0).setFlags(02 | 04000));
        raw.fd(1, 6, icmp).fd(1, 7, udp6).fd(1, 8, ping).fd(2, 6, icmp);

        InetImageBuilder half = new InetImageBuilder().task(1, 0);
        long closeWait = half.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, InetConst.TCP_CLOSE_WAIT,
                "127.0.0.1", 5000, "127.0.0.1", 41000).setShutdown(1));
        long finWait2 = half.socket(InetImageBuilder.sk(AF_INET, SOCK_STREAM, IPPROTO_TCP, InetConst.TCP_FIN_WAIT2,
                "127.0.0.1", 5001, "127.0.0.1", 41001).setShutdown(2));
        half.stream(closeWait, InetImageBuilder.streamMessage(1, 1001, 0, 2000, 0, 0, 65483), new byte[] {9}, new byte[0]);
        half.stream(finWait2, InetImageBuilder.streamMessage(0, 3000, 0, 4001, 0, 0, 65483), new byte[0], new byte[0]);
        half.fd(1, 3, closeWait).fd(1, 4, finWait2);

        return List.of(
                namesTheSocket(Scenario.of("raw and ICMP sockets, made in the shared batch", raw::write),
                        Map.of(icmp, "raw socket 127.0.0.14 protocol 1")).expect(x -> {
                    List<String> calls = x.callsOf(icmp);
                    String all = String.join("\n", calls);
                    assertTrue(calls.get(0).startsWith("socket(2, 3, 1)"), all);
                    assertTrue(all.contains("setsockopt(") && all.contains(", 255, 1)"), "ICMP_FILTER: " + all);
                    assertTrue(all.indexOf("bind(") > all.indexOf(", 255, 1)"), "bound after its options: " + all);
                    String v6 = String.join("\n", x.callsOf(udp6));
                    assertTrue(v6.contains(", 41, 36)") && v6.contains(", 41, 49)"), "IPV6_HDRINCL, IPV6_RECVPKTINFO: " + v6);
                    assertTrue(!v6.contains(", 41, 26)") && !v6.contains("bind("), "no IPV6_V6ONLY, no bind: " + v6);
                    String p = String.join("\n", x.callsOf(ping));
                    assertTrue(p.startsWith("socket(2, 2, 1)") && p.contains("fcntl(") && !p.contains("bind("), p);
                }),
                namesTheSocket(Scenario.of("close-wait and fin-wait2: the FINs as segments from the peer", half::write),
                        Map.of(closeWait, "tcp socket 127.0.0.1:5000 -> 127.0.0.1:41000 (close-wait, file " + closeWait + ")"))
                        .expect(x -> {
                    String cw = String.join("\n", x.callsOf(closeWait));
                    // One before the peer's FIN: receive queue starts at 1001 - 1 - 1.
                    assertTrue(cw.contains("socket(2, 3, 255)") && cw.contains("send("), cw);
                    assertTrue(!cw.contains("shutdown("), "the state implies the read shutdown: " + cw);
                    String fw = String.join("\n", x.callsOf(finWait2));
                    assertTrue(fw.indexOf("shutdown(") < fw.indexOf("socket(2, 3, 255)"), "FIN queued, then the peer's ACK: " + fw);
                    Recording r = rec(x);
                    assertTrue(r.all().contains(" 6 " + InetConst.TCP_QUEUE_SEQ + " =999"), "close-wait receive seq: " + r.all());
                    assertTrue(r.all().contains(" 6 " + InetConst.TCP_QUEUE_SEQ + " =4000"), "fin-wait2 send seq: " + r.all());
                }),
                namesTheSocket(Scenario.of("h_tcp: two listeners shared with the child", d -> Samples.criu("h_tcp")),
                        Map.of(5L, "tcp socket 127.0.0.1:40123 (listen, file 5)",
                                6L, "tcp6 socket [::1]:40124 (listen, file 6)")).expect(x -> {
                    Recording r = rec(x);
                    int floor = x.table(19273).tempFloor();
                    assertEquals(2, r.events.stream().filter(e -> e.contains(" socket ")).count(), r.all());
                    assertEquals(2, r.events.stream().filter(e -> e.matches("19273 listen \\d+ 8")).count(),
                            "backlog 8: " + r.all());
                    // The IPv6 one (a temporary at or above the floor): IPV6_V6ONLY=1 before its bind.
                    String v6 = " setsockopt ";
                    String tail = " " + InetConst.SOL_IPV6 + " " + InetConst.IPV6_V6ONLY + " =1";
                    int v6only = -1;
                    int fd = -1;
                    synchronized (r.events) {
                        for (int i = 0; i < r.events.size() && v6only < 0; i++) {
                            String e = r.events.get(i);
                            if (e.startsWith("19273" + v6) && e.endsWith(tail)) {
                                v6only = i;
                                fd = Integer.parseInt(e.substring(("19273" + v6).length(), e.length() - tail.length()));
                            }
                        }
                    }
                    assertTrue(v6only >= 0 && fd >= floor, "IPV6_V6ONLY=1 on a temporary: " + r.all());
                    assertTrue(v6only < r.first("19273 bind " + fd + " <28>"), r.all());
                }),
                namesTheSocket(Scenario.of("a port shared by two sockets", port::write), Map.of()).expect(x -> {
                    Recording r = rec(x);
                    int fd = x.table(1).tempFloor(); // the first temporary of each table
                    assertEquals(fd, x.table(2).tempFloor());
                    int bind1 = r.first("1 bind " + fd);
                    int bind2 = r.first("2 bind " + fd);
                    for (int pid = 1; pid <= 2; pid++) {
                        int bind = pid == 1 ? bind1 : bind2;
                        assertTrue(r.first(opt(pid, fd, SOL_SOCKET, InetConst.SO_REUSEADDR, 1)) < bind,
                                "forced SO_REUSEADDR, task " + pid);
                        assertTrue(r.first(opt(pid, fd, SOL_SOCKET, InetConst.SO_REUSEPORT, 1)) < bind,
                                "forced SO_REUSEPORT, task " + pid);
                        // Own values, after both binds (the fd has its final number 3 by then, or is still the temporary).
                        int own = Math.max(r.lastOpt(pid, SOL_SOCKET, InetConst.SO_REUSEPORT, 0), 0);
                        assertTrue(own > Math.max(bind1, bind2), "own SO_REUSEPORT of task " + pid + " after both binds:\n"
                                + r.all());
                    }
                    assertTrue(r.lastOpt(1, SOL_SOCKET, InetConst.SO_REUSEADDR, 0) > Math.max(bind1, bind2));
                    assertTrue(r.lastOpt(2, SOL_SOCKET, InetConst.SO_REUSEADDR, 1) > Math.max(bind1, bind2));
                }),
                namesTheSocket(Scenario.of("both ends of a connection, in repair mode", conn::write), Map.of()).expect(x -> {
                    Recording r = rec(x);
                    int fd = x.table(1).tempFloor();
                    int repairOn = r.first(opt(1, fd, SOL_TCP, InetConst.TCP_REPAIR, 1));
                    assertTrue(repairOn < r.first("1 bind " + fd));
                    // Sequence numbers: the start of each queue (seq - len).
                    assertTrue(r.first(opt(1, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, 998)) < r.first("1 connect " + fd));
                    assertTrue(r.first(opt(1, fd, SOL_TCP, InetConst.TCP_QUEUE_SEQ, 1997)) < r.first("1 connect " + fd));
                    assertTrue(r.first("1 connect " + fd) < r.first("1 setsockopt " + fd + " 6 " + InetConst.TCP_REPAIR_OPTIONS));
                    // Receive queue (2 bytes) and the sent part of the send queue (2 bytes), in repair mode.
                    int recvQ = r.first(opt(1, fd, SOL_TCP, InetConst.TCP_REPAIR_QUEUE, InetConst.TCP_RECV_QUEUE));
                    int sends = 0;
                    int repairOff1 = r.lastOpt(1, SOL_TCP, InetConst.TCP_REPAIR, 0);
                    int repairOff2 = r.lastOpt(2, SOL_TCP, InetConst.TCP_REPAIR, 0);
                    synchronized (r.events) {
                        for (int i = 0; i < r.events.size(); i++) {
                            if (r.events.get(i).startsWith("1 send ")) {
                                sends++;
                                assertTrue(i > recvQ);
                            }
                        }
                    }
                    assertEquals(3, sends, "receive queue, sent part of the send queue, then the unsent byte:\n" + r.all());
                    assertTrue(r.last("1 send ") > repairOff1, "the unsent byte goes out after repair mode is left");
                    // Neither end leaves repair mode before the other is connected.
                    assertTrue(repairOff1 > r.first("2 connect "), r.all());
                    assertTrue(repairOff2 > r.first("1 connect "), r.all());
                }));
    }
}
