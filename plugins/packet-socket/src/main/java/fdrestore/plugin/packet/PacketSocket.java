package fdrestore.plugin.packet;

import fdrestore.api.image.proto.PacketMclist;
import fdrestore.api.image.proto.PacketRing;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * Restores one packet socket in criu's order: socket(AF_PACKET, type, protocol); bind to the image's
 * interface (sockaddr_ll with protocol 0, which keeps the socket's; a SOCK_PACKET socket binds by the
 * interface's name, from SIOCGIFNAME); PACKET_VERSION, PACKET_RESERVE, PACKET_TIMESTAMP,
 * PACKET_COPY_THRESH, the boolean options that are on, each membership, the rings, the fanout group; then
 * the file flags and the socket options. On any failure the socket is closed.
 */
final class PacketSocket implements FileRestorer {
    static final int SOL_PACKET = 263;
    static final int PACKET_ADD_MEMBERSHIP = 1;
    static final int PACKET_RX_RING = 5;
    static final int PACKET_COPY_THRESH = 7;
    static final int PACKET_AUXDATA = 8;
    static final int PACKET_ORIGDEV = 9;
    static final int PACKET_VERSION = 10;
    static final int PACKET_RESERVE = 12;
    static final int PACKET_TX_RING = 13;
    static final int PACKET_LOSS = 14;
    static final int PACKET_VNET_HDR = 15;
    static final int PACKET_TIMESTAMP = 17;
    static final int PACKET_FANOUT = 18;
    static final long SIOCGIFNAME = 0x8910;
    static final int F_SETFL = 4;
    static final int F_SETSIG = 10;

    private final long id;
    private final PacketSockEntry e;

    PacketSocket(long id, PacketSockEntry e) {
        this.id = id;
        this.e = e;
    }

    /** A raw {@code struct sockaddr_ll} naming interface {@code ifindex} (protocol 0: keep the socket's). */
    static byte[] sockaddrLl(int ifindex) {
        byte[] sa = new byte[20];
        sa[0] = (byte) PacketKind.AF_PACKET;
        SocketOptions.putInt(sa, 4, ifindex);
        return sa;
    }

    /** A raw {@code struct packet_mreq_max}. */
    static byte[] mreq(PacketMclist m) {
        byte[] v = new byte[8 + PacketKind.MAX_ADDR_LEN];
        SocketOptions.putInt(v, 0, m.getIndex());
        v[4] = (byte) m.getType();
        v[5] = (byte) (m.getType() >>> 8);
        v[6] = (byte) m.getAddr().size();
        m.getAddr().copyTo(v, 8);
        return v;
    }

    /** A raw {@code struct tpacket_req3} (the kernel reads the first 16 bytes for TPACKET_V1 and V2). */
    static byte[] ring(PacketRing r) {
        byte[] v = new byte[28];
        int[] f = {r.getBlockSize(), r.getBlockNr(), r.getFrameSize(), r.getFrameNr(), r.getRetireTmo(),
            r.getSizeofPriv(), r.getFeatures()};
        for (int i = 0; i < f.length; i++) {
            SocketOptions.putInt(v, 4 * i, f[i]);
        }
        return v;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int fd;
        try {
            fd = t.socket(PacketKind.AF_PACKET, e.getType(), e.getProtocol());
        } catch (SysException x) {
            throw new IOException(this + ": socket: " + x.getMessage(), x);
        }
        String step = "bind to interface " + e.getIfindex();
        try {
            if (e.getType() == PacketKind.SOCK_PACKET) {
                if (e.getIfindex() > 0) {
                    byte[] ifr = new byte[40];
                    SocketOptions.putInt(ifr, 16, e.getIfindex());
                    step = "SIOCGIFNAME of interface " + e.getIfindex();
                    t.ioctl(fd, SIOCGIFNAME, ifr);
                    byte[] sa = new byte[16];
                    sa[0] = (byte) PacketKind.AF_PACKET;
                    System.arraycopy(ifr, 0, sa, 2, 13); // sa_data holds 14 bytes; the last stays NUL
                    step = "bind to interface " + e.getIfindex();
                    t.bind(fd, sa);
                }
            } else {
                t.bind(fd, sockaddrLl(e.getIfindex()));
                step = "PACKET_VERSION " + e.getVersion();
                opt(t, fd, PACKET_VERSION, e.getVersion());
                step = "PACKET_RESERVE " + e.getReserve();
                opt(t, fd, PACKET_RESERVE, e.getReserve());
                step = "PACKET_TIMESTAMP " + e.getTimestamp();
                opt(t, fd, PACKET_TIMESTAMP, e.getTimestamp());
                step = "PACKET_COPY_THRESH " + e.getCopyThresh();
                opt(t, fd, PACKET_COPY_THRESH, e.getCopyThresh());
                step = "PACKET_AUXDATA";
                on(t, fd, PACKET_AUXDATA, e.getAuxData());
                step = "PACKET_ORIGDEV";
                on(t, fd, PACKET_ORIGDEV, e.getOrigDev());
                step = "PACKET_VNET_HDR";
                on(t, fd, PACKET_VNET_HDR, e.getVnetHdr());
                step = "PACKET_LOSS";
                on(t, fd, PACKET_LOSS, e.getLoss());
                for (int i = 0; i < e.getMclistCount(); i++) {
                    PacketMclist m = e.getMclist(i);
                    step = "PACKET_ADD_MEMBERSHIP mclist[" + i + "] (interface " + m.getIndex() + ", type " + m.getType() + ")";
                    t.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq(m));
                }
                if (e.hasRxRing()) {
                    step = "PACKET_RX_RING";
                    t.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ring(e.getRxRing()));
                }
                if (e.hasTxRing()) {
                    step = "PACKET_TX_RING";
                    t.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, ring(e.getTxRing()));
                }
                if (e.hasFanout()) {
                    step = "PACKET_FANOUT 0x" + Integer.toHexString(e.getFanout());
                    opt(t, fd, PACKET_FANOUT, e.getFanout());
                }
            }
            int fl = e.getFlags() & (PacketKind.O_NONBLOCK | PacketKind.O_ASYNC);
            if (fl != 0) {
                step = "fcntl(F_SETFL, 0" + Integer.toOctalString(fl) + ")";
                t.fcntl(fd, F_SETFL, fl);
            }
            if (e.getFown().getSignum() != 0) {
                step = "fcntl(F_SETSIG, " + e.getFown().getSignum() + ")";
                t.fcntl(fd, F_SETSIG, e.getFown().getSignum());
            }
            step = "socket options";
            SocketOptions.restore(t, fd, e.getOpts());
            return OpenResult.done(fd);
        } catch (SysException x) {
            IOException failure = new IOException(this + ": " + step + ": " + x.getMessage(), x);
            try {
                t.close(fd);
            } catch (SysException c) {
                failure.addSuppressed(c);
            }
            throw failure;
        }
    }

    private static void opt(TaskTable t, int fd, int name, int value) throws SysException {
        t.setsockopt(fd, SOL_PACKET, name, SocketOptions.intValue(value));
    }

    private static void on(TaskTable t, int fd, int name, boolean on) throws SysException {
        if (on) {
            opt(t, fd, name, 1);
        }
    }

    @Override
    public String toString() {
        String type = switch (e.getType()) {
            case PacketKind.SOCK_DGRAM -> "SOCK_DGRAM";
            case PacketKind.SOCK_RAW -> "SOCK_RAW";
            default -> "SOCK_PACKET";
        };
        return "packet file " + id + " (" + type + ", protocol 0x" + Integer.toHexString(e.getProtocol())
                + ", interface " + e.getIfindex() + ")";
    }
}
