package fdrestore.plugin.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Packet sockets on the real kernel, as zdtm packet_sock makes them: made in the JVM's own table, dumped
 * (sock_diag), restored by the engine into a private task table and read back with getsockopt and
 * getsockname. Needs CAP_NET_RAW; meant for a private network namespace (lo is put in promiscuous mode).
 */
@EnabledIf(value = "packetSockets", disabledReason = "no AF_PACKET sockets here (CAP_NET_RAW needed)")
class RealPacketTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int SOL_PACKET = PacketSocket.SOL_PACKET;

    @TempDir
    Path tmp;

    private RealKernel kernel;
    private TaskTable table;
    private final List<Integer> mine = new ArrayList<>();

    static boolean packetSockets() {
        try {
            Sys.close(Sys.socket(PacketKind.AF_PACKET, PacketKind.SOCK_RAW | Linux.SOCK_CLOEXEC, 0));
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

    private int jvmSocket(int type, int protocol) throws Exception {
        int fd = Sys.socket(PacketKind.AF_PACKET, type | Linux.SOCK_CLOEXEC, protocol);
        mine.add(fd);
        return fd;
    }

    private static PacketSockEntry dumpOf(int fd, long id) throws Exception {
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, id)) {
            PacketKind k = new PacketKind();
            assertTrue(k.dumps(ctx.file()));
            return k.dump(ctx).getPsk();
        }
    }

    private int opt(int fd, int name) throws Exception {
        byte[] v = new byte[4];
        table.getsockopt(fd, SOL_PACKET, name, v);
        return SocketOptions.intAt(v, 0);
    }

    @Test
    void theSocketsOfPacketSockDumpAndRestoreAsTheyWere() throws Exception {
        int raw = jvmSocket(PacketKind.SOCK_RAW, 0);
        Sys.setsockoptInt(raw, SOL_PACKET, PacketSocket.PACKET_VERSION, 1);
        Sys.setsockoptInt(raw, SOL_PACKET, PacketSocket.PACKET_AUXDATA, 1);
        Sys.setsockopt(raw, SOL_PACKET, PacketSocket.PACKET_RX_RING, PacketSocket.ring(PacketContractTest.ring()));
        Sys.setsockopt(raw, SOL_PACKET, PacketSocket.PACKET_ADD_MEMBERSHIP,
                PacketSocket.mreq(PacketContractTest.file(b -> { }).apply(1).getPsk().getMclist(0)));
        int dgram = jvmSocket(PacketKind.SOCK_DGRAM, 8); // htons(ETH_P_IP)
        Sys.bind(dgram, PacketSocket.sockaddrLl(1));
        Sys.setsockoptInt(dgram, SOL_PACKET, PacketSocket.PACKET_RESERVE, 8);
        Sys.setsockoptInt(dgram, SOL_PACKET, PacketSocket.PACKET_ORIGDEV, 1);
        Sys.setsockoptInt(dgram, SOL_PACKET, PacketSocket.PACKET_FANOUT, 13);

        PacketSockEntry r = dumpOf(raw, 1);
        PacketSockEntry d = dumpOf(dgram, 2);
        assertEquals(List.of(3, 0, 1, true), List.of(r.getType(), r.getProtocol(), r.getVersion(), r.getAuxData()));
        assertEquals(PacketContractTest.ring(), r.getRxRing());
        assertEquals(List.of(1, 1), List.of(r.getMclist(0).getIndex(), r.getMclist(0).getType()));
        assertEquals(List.of(2, 8, 1, 8, true, 13), List.of(d.getType(), d.getProtocol(), d.getIfindex(), d.getReserve(),
                d.getOrigDev(), d.getFanout()));
        assertTrue(!r.hasFanout() && !d.hasRxRing());

        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        for (PacketSockEntry e : List.of(r, d)) {
            long id = v.file(i -> FileEntry.newBuilder().setType(FdType.PACKETSK.code()).setId(i)
                    .setPsk(e.toBuilder().setId(i)).build());
            v.fd(1, 3 + (int) id, id);
        }
        ImageSet images = ImageSet.open(v.write(tmp.resolve("images")));
        kernel = RealKernel.open(); // after the test's own sockets, which are not the restore's leaks
        assertTimeoutPreemptively(LIMIT, () -> {
            kernel.restore(images, new PacketKind());
        });
        table = kernel.table(1);
        assertEquals(1, opt(4, PacketSocket.PACKET_VERSION));
        assertEquals(1, opt(4, PacketSocket.PACKET_AUXDATA));
        assertEquals(8, opt(5, PacketSocket.PACKET_RESERVE));
        assertEquals(1, opt(5, PacketSocket.PACKET_ORIGDEV));
        assertEquals(13, opt(5, PacketSocket.PACKET_FANOUT));
        byte[] sa = table.getsockname(5);
        assertEquals(1, SocketOptions.intAt(sa, 4), "bound to lo");
        assertEquals(8, (sa[2] & 0xff) | (sa[3] & 0xff) << 8, "protocol kept (network order)");
        byte[] so = table.getsockname(4);
        assertEquals(0, SocketOptions.intAt(so, 4), "any interface");
    }
}
