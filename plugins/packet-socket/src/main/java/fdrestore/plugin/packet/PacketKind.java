package fdrestore.plugin.packet;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PacketMclist;
import fdrestore.api.image.proto.PacketRing;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.SocketOptions;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of packet sockets ({@code FdType.PACKETSK}, {@code PacketSockEntry} in files.img or the
 * legacy packetsk.img).
 *
 * <p>Checked at plan time, before any syscall: the type (SOCK_DGRAM, SOCK_RAW, SOCK_PACKET), the protocol
 * (16 bits), the bound interface and every membership's interface (they must exist, by index, in fdrestore's
 * network namespace, where the sockets are made; an index names no interface across namespaces, so a
 * missing one is refused rather than guessed), the TPACKET version, the membership addresses (at most
 * MAX_ADDR_LEN, 32 bytes) and count, and the rings' sizes (at most {@link #MAX_RING_BYTES} each: the
 * kernel allocates them at once). Rings are restored as criu restores them: PACKET_RX_RING/PACKET_TX_RING
 * with the image's geometry; what the task had mapped of them is memory, which is not restored.
 */
@Extension
public final class PacketKind implements FileKind, FileDumper {
    static final int AF_PACKET = 17;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_RAW = 3;
    static final int SOCK_PACKET = 10;
    static final int TPACKET_V3 = 2;
    static final int MAX_ADDR_LEN = 32;
    static final int MAX_MEMBERSHIPS = 1024;
    /** The largest ring accepted (block_size x block_nr). */
    static final long MAX_RING_BYTES = 1L << 30;
    static final int O_ACCMODE = 3;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;
    static final int O_ASYNC = 020000;
    static final int O_LARGEFILE = 0100000;

    @Override
    public String name() {
        return "packet-socket";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.PACKETSK);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return PacketDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return PacketDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        String what = "packet file " + file.id();
        if (!file.entry().hasPsk()) {
            throw new PlanException(what + ": files.img has no packet socket entry for it");
        }
        PacketSockEntry e = file.entry().getPsk();
        int type = e.getType();
        if (type != SOCK_DGRAM && type != SOCK_RAW && type != SOCK_PACKET) {
            throw new PlanException(what + ": type " + Integer.toUnsignedString(type)
                    + " is not SOCK_DGRAM (2), SOCK_RAW (3) or SOCK_PACKET (10)");
        }
        if (Integer.compareUnsigned(e.getProtocol(), 0xffff) > 0) {
            throw new PlanException(what + ": protocol 0x" + Integer.toHexString(e.getProtocol())
                    + " is wider than an ethertype (16 bits)");
        }
        interfaceExists(what, "ifindex", e.getIfindex());
        if (Integer.compareUnsigned(e.getVersion(), TPACKET_V3) > 0) {
            throw new PlanException(what + ": version " + Integer.toUnsignedString(e.getVersion())
                    + " is no TPACKET version (0 V1, 1 V2, 2 V3)");
        }
        if (e.getReserve() < 0) {
            throw new PlanException(what + ": reserve " + Integer.toUnsignedString(e.getReserve())
                    + " is above INT_MAX, which the kernel refuses");
        }
        if (e.getMclistCount() > MAX_MEMBERSHIPS) {
            throw new PlanException(what + ": mclist has " + e.getMclistCount() + " memberships, more than the "
                    + MAX_MEMBERSHIPS + " fdrestore accepts");
        }
        for (int i = 0; i < e.getMclistCount(); i++) {
            PacketMclist m = e.getMclist(i);
            if (m.getAddr().size() > MAX_ADDR_LEN) {
                throw new PlanException(what + ": mclist[" + i + "].addr has " + m.getAddr().size()
                        + " bytes, more than MAX_ADDR_LEN (" + MAX_ADDR_LEN + ")");
            }
            interfaceExists(what, "mclist[" + i + "].index", m.getIndex());
        }
        ring(what, "rx_ring", e.hasRxRing() ? e.getRxRing() : null);
        ring(what, "tx_ring", e.hasTxRing() ? e.getTxRing() : null);
        if (type == SOCK_PACKET && (e.getMclistCount() > 0 || e.hasRxRing() || e.hasTxRing() || e.hasFanout())) {
            throw new PlanException(what + ": a SOCK_PACKET socket with memberships, rings or fanout, which"
                    + " SOCK_PACKET sockets cannot have");
        }
        int flags = e.getFlags();
        if ((flags & O_ACCMODE) != O_RDWR || (flags & ~(O_ACCMODE | O_NONBLOCK | O_ASYNC | O_LARGEFILE)) != 0) {
            throw new PlanException(what + ": flags 0" + Integer.toOctalString(flags)
                    + " are not a socket's (O_RDWR with O_NONBLOCK, O_ASYNC)");
        }
        String bad = SocketOptions.invalid(e.getOpts());
        if (bad != null) {
            throw new PlanException(what + ": " + bad);
        }
        if (e.getFown().getPid() != 0) {
            throw new PlanException(what + ": its owner (F_SETOWN, pid " + e.getFown().getPid()
                    + ") cannot be restored: restored pids are chosen after the fds are restored");
        }
        return new PacketSocket(file.id(), e);
    }

    private static void interfaceExists(String what, String field, int index) throws PlanException {
        if (index == 0) {
            return;
        }
        try {
            if (index < 0 || NetworkInterface.getByIndex(index) == null) {
                throw new PlanException(what + ": " + field + " " + Integer.toUnsignedString(index)
                        + " names no network interface in fdrestore's network namespace");
            }
        } catch (SocketException x) {
            throw new PlanException(what + ": cannot look up interface " + index + " (" + field + "): " + x.getMessage(), x);
        }
    }

    private static void ring(String what, String field, PacketRing r) throws PlanException {
        if (r == null) {
            return;
        }
        long size = Integer.toUnsignedLong(r.getBlockSize());
        long nr = Integer.toUnsignedLong(r.getBlockNr());
        if (nr != 0 && size > MAX_RING_BYTES / nr) {
            throw new PlanException(what + ": " + field + " of " + Integer.toUnsignedString(r.getBlockNr()) + " blocks of "
                    + Integer.toUnsignedString(r.getBlockSize()) + " bytes is above the " + (MAX_RING_BYTES >> 20)
                    + " MiB fdrestore accepts");
        }
    }
}
