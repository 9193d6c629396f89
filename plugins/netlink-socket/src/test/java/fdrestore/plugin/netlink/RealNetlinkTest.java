package fdrestore.plugin.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Netlink sockets on the real kernel: dumped from sockets of the JVM's own table (sock_diag), restored by
 * the engine into a private task table, and read back with getsockname/getpeername and
 * NETLINK_LIST_MEMBERSHIPS. Run in a private network namespace (port ids are per namespace).
 */
@EnabledIf(value = "uevent", disabledReason = "this kernel has no NETLINK_KOBJECT_UEVENT sockets")
class RealNetlinkTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    static final int UEVENT = 15;
    static final int NETLINK_LIST_MEMBERSHIPS = 9;

    @TempDir
    Path tmp;

    private RealKernel kernel;
    private TaskTable table;
    private final List<Integer> mine = new ArrayList<>();

    static boolean uevent() {
        try {
            Sys.close(Sys.socket(NetlinkKind.AF_NETLINK, NetlinkKind.SOCK_RAW | Linux.SOCK_CLOEXEC, UEVENT));
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @AfterEach
    void stop() throws Exception {
        mine.forEach(Sys::closeQuietly);
        if (kernel != null) {
            kernel.close();
        }
    }

    private int jvmSocket() throws Exception {
        int fd = Sys.socket(NetlinkKind.AF_NETLINK, NetlinkKind.SOCK_RAW | Linux.SOCK_CLOEXEC, UEVENT);
        mine.add(fd);
        return fd;
    }

    private static NetlinkSkEntry dumpOf(int fd, long id) throws Exception {
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, id)) {
            NetlinkKind k = new NetlinkKind();
            assertTrue(k.dumps(ctx.file()));
            return k.dump(ctx).getNlsk();
        }
    }

    /**
     * Restores the netlink sockets of {@code b} into task 1 of a fresh harness (opened after the test's own
     * sockets, which its close then does not count as leaks).
     */
    private void restore(ImageSetBuilder b, Map<String, String> options) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        if (kernel != null) {
            kernel.close();
        }
        kernel = RealKernel.open();
        try {
            assertTimeoutPreemptively(LIMIT, () -> {
                kernel.restore(TestPlanContext.of(images).options(options), new NetlinkKind());
            });
        } finally {
            table = kernel.table(1);
        }
    }

    private void assertNoTemporaries() throws Exception {
        assertEquals(List.of(), kernel.strays(1), "temporaries left in the task table");
    }

    private static int portOf(byte[] sa) {
        return SocketOptions.intAt(sa, 4);
    }

    private static int groupsOf(byte[] sa) {
        return SocketOptions.intAt(sa, 8);
    }

    private int[] memberships(int fd) throws Exception {
        byte[] out = new byte[16];
        int len = table.getsockopt(fd, NetlinkSocket.SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, out);
        int[] w = new int[Math.min(len, 16) / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = SocketOptions.intAt(out, 4 * i);
        }
        return w;
    }

    @Test
    void theFourSocketsOfSkNetlinkDumpAndRestoreAsTheyWere() throws Exception {
        // As zdtm's sk-netlink makes them: bound to a chosen port id, bound with a group (autobound port),
        // connected to the first (autobound on connect), unbound.
        int port = 0x5a000000 | (int) (ProcessHandle.current().pid() & 0xffff);
        int bound = jvmSocket();
        Sys.bind(bound, NetlinkSocket.sockaddr(port, 0));
        int grouped = jvmSocket();
        Sys.bind(grouped, NetlinkSocket.sockaddr(0, 1));
        int connected = jvmSocket();
        Sys.connect(connected, NetlinkSocket.sockaddr(port, 0));
        int unbound = jvmSocket();
        Sys.setsockoptInt(unbound, 1, 16 /* SO_PASSCRED */, 1);

        NetlinkSkEntry b = dumpOf(bound, 1);
        NetlinkSkEntry g = dumpOf(grouped, 2);
        NetlinkSkEntry c = dumpOf(connected, 3);
        NetlinkSkEntry u = dumpOf(unbound, 4);
        assertEquals(List.of(7, port, 0), List.of(b.getState(), b.getPortid(), b.getGroupsCount()));
        assertEquals(List.of(1), g.getGroupsList(), "group 1");
        assertNotEquals(0, g.getPortid(), "autobound");
        assertEquals(List.of(1, port, 0), List.of(c.getState(), c.getDstPortid(), c.getDstGroup()));
        assertEquals(List.of(0, 0), List.of(u.getState(), u.getPortid()), "not listed by sock_diag: unbound");
        assertTrue(u.getOpts().getSoPasscred());

        // The originals go away (their port ids with them), then the images come back.
        mine.forEach(Sys::closeQuietly);
        mine.clear();
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        for (NetlinkSkEntry e : List.of(b, g, c, u)) {
            long id = v.file(i -> FileEntry.newBuilder().setType(FdType.NETLINKSK.code()).setId(i)
                    .setNlsk(e.toBuilder().setId(i)).build());
            v.fd(1, 3 + (int) id, id);
        }
        restore(v, Map.of());
        assertNoTemporaries();
        assertEquals(port, portOf(table.getsockname(4)));
        assertEquals(g.getPortid(), portOf(table.getsockname(5)));
        assertEquals(1, groupsOf(table.getsockname(5)));
        assertEquals(c.getPortid(), portOf(table.getsockname(6)));
        assertEquals(port, portOf(table.getpeername(6)));
        assertEquals(0, portOf(table.getsockname(7)));
        byte[] cred = new byte[4];
        table.getsockopt(7, 1, 16, cred);
        assertEquals(1, SocketOptions.intAt(cred, 0), "SO_PASSCRED");
    }

    @Test
    void groupsAboveThirtyTwoComeBackByMembership() throws Exception {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        // NETLINK_ROUTE has more than 32 groups (RTNLGRP_MAX); group 33 is bit 0 of word 1.
        long id = v.file(Nl.file(7, 0, e -> e.setProtocol(0).addGroups(0x1).addGroups(0x1)));
        v.fd(1, 4, id);
        restore(v, Map.of());
        assertEquals(1, groupsOf(table.getsockname(4)));
        int[] w = memberships(4);
        assertTrue(w.length >= 2 && w[0] == 1 && w[1] == 1, java.util.Arrays.toString(w));
    }

    @Test
    void aTakenPortIdFallsBackToTheKernelsChoiceAsCriuDoesOrFailsWhenExactIsAsked() throws Exception {
        int port = 0x5b000000 | (int) (ProcessHandle.current().pid() & 0xffff);
        int holder = jvmSocket();
        Sys.bind(holder, NetlinkSocket.sockaddr(port, 0));
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        long id = v.file(Nl.file(7, port, e -> { }));
        v.fd(1, 4, id);

        RestoreException x = assertThrows(RestoreException.class, () -> restore(v, Map.of(NetlinkKind.PORT_OPTION, "exact")));
        assertTrue(x.getMessage().contains("fd 4") && x.getMessage().contains("EADDRINUSE"), x.getMessage());
        assertNoTemporaries();

        restore(v, Map.of());
        int got = portOf(table.getsockname(4));
        assertNotEquals(port, got);
        assertNotEquals(0, got);
    }

    @Test
    void aProtocolTheKernelLacksFailsNamingTheFieldAndLeavesNothing() throws Exception {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        long id = v.file(Nl.file(0, 0, e -> e.setProtocol(1))); // NETLINK_UNUSED: no kernel has it
        v.fd(1, 4, id);
        RestoreException x = assertThrows(RestoreException.class, () -> restore(v, Map.of()));
        assertTrue(x.getMessage().contains("fd 4") && x.getMessage().contains("field protocol"), x.getMessage());
        assertNoTemporaries();
    }
}
