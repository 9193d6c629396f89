package fdrestore.plugin.packet;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PacketMclist;
import fdrestore.api.image.proto.PacketRing;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.SocketOptions;
import fdrestore.api.sys.SockDiag;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dump side of packet sockets, as criu records them: everything but the file flags, owner and SOL_SOCKET
 * options comes from sock_diag (AF_PACKET with PACKET_SHOW_INFO, MCLIST, RING_CFG and FANOUT; one dump shared
 * by the whole dump): type, protocol (network byte order, as socket(2) takes it), interface, version,
 * reserve, copy threshold, timestamping, the boolean options, memberships, ring geometry and fanout.
 * sock_diag answers for fdrestore's own network namespace, so a socket of a task in another one is refused.
 */
final class PacketDumper {
    static final int O_CLOEXEC = 02000000;
    static final int SHOW = 1 | 2 | 4 | 8; // INFO, MCLIST, RING_CFG, FANOUT
    static final int DIAG_INFO = 0;
    static final int DIAG_MCLIST = 1;
    static final int DIAG_RX_RING = 2;
    static final int DIAG_TX_RING = 3;
    static final int DIAG_FANOUT = 4;
    static final int PDI_AUXDATA = 0x2;
    static final int PDI_ORIGDEV = 0x4;
    static final int PDI_VNETHDR = 0x8;
    static final int PDI_LOSS = 0x10;
    /** sizeof(struct packet_diag_msg), sizeof(struct packet_diag_mclist). */
    static final int MSG_LEN = 16;
    static final int MCLIST_LEN = 44;

    private PacketDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isSocket() && f.socket() != null && f.socket().family() == PacketKind.AF_PACKET;
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        long ino = f.stat().ino();
        String what = "packet socket " + ino;
        try {
            if (!SockDiag.inOwnNetns(ctx.pid())) {
                throw DumpException.unsupported(what + ": a socket in another network namespace than fdrestore's,"
                        + " for which sock_diag answers");
            }
        } catch (IOException e) {
            throw new DumpException(what + ": cannot read the network namespace of task " + ctx.pid() + ": " + e, e);
        }
        Map<Long, PacketSockEntry.Builder> all = ctx.memo("packet.diag", () -> {
            try {
                return diag();
            } catch (SysException | RuntimeException e) {
                return null;
            }
        });
        if (all == null) {
            throw new DumpException(what + ": sock_diag of packet sockets failed");
        }
        PacketSockEntry.Builder d = all.get(ino);
        if (d == null) {
            throw new DumpException(what + ": not listed by sock_diag");
        }
        try {
            PacketSockEntry e = d.clone().setId((int) ctx.id()).setFlags(f.fdinfo().flags() & ~O_CLOEXEC)
                    .setFown(ctx.fown()).setOpts(SocketOptions.dump(ctx.localFd(), false)).build();
            return FileEntry.newBuilder().setType(FdType.PACKETSK.code()).setId((int) ctx.id()).setPsk(e).build();
        } catch (SysException x) {
            throw new DumpException(what + ": " + x.getMessage(), x);
        }
    }

    /** Every packet socket of this network namespace, by inode, without id, flags, owner and options. */
    static Map<Long, PacketSockEntry.Builder> diag() throws SysException {
        byte[] req = new byte[20]; // struct packet_diag_req
        req[0] = (byte) PacketKind.AF_PACKET;
        SockDiag.putInt(req, 8, SHOW);
        Map<Long, PacketSockEntry.Builder> out = new HashMap<>();
        SockDiag.dump("sock_diag(AF_PACKET)", req, MSG_LEN, (buf, at, end) -> {
            int type = buf[at + 1] & 0xff;
            int num = (buf[at + 2] & 0xff) | (buf[at + 3] & 0xff) << 8; // host order
            long ino = Integer.toUnsignedLong(SockDiag.intAt(buf, at + 4));
            PacketSockEntry.Builder e = PacketSockEntry.newBuilder().setType(type)
                    .setProtocol(((num & 0xff) << 8) | (num >>> 8)); // network order, as criu records it
            List<PacketMclist> mc = new ArrayList<>();
            int a = at + MSG_LEN;
            while (a + 4 <= end) {
                int len = (buf[a] & 0xff) | (buf[a + 1] & 0xff) << 8;
                int atype = ((buf[a + 2] & 0xff) | (buf[a + 3] & 0xff) << 8) & 0x3fff;
                if (len < 4 || a + len > end) {
                    break;
                }
                int p = a + 4;
                switch (atype) {
                    case DIAG_INFO -> {
                        int flags = SockDiag.intAt(buf, p + 20);
                        e.setIfindex(SockDiag.intAt(buf, p)).setVersion(SockDiag.intAt(buf, p + 4))
                                .setReserve(SockDiag.intAt(buf, p + 8)).setCopyThresh(SockDiag.intAt(buf, p + 12))
                                .setTimestamp(SockDiag.intAt(buf, p + 16)).setAuxData((flags & PDI_AUXDATA) != 0)
                                .setOrigDev((flags & PDI_ORIGDEV) != 0).setVnetHdr((flags & PDI_VNETHDR) != 0)
                                .setLoss((flags & PDI_LOSS) != 0);
                    }
                    case DIAG_MCLIST -> {
                        for (int m = p; m + MCLIST_LEN <= a + len; m += MCLIST_LEN) {
                            int mtype = (buf[m + 8] & 0xff) | (buf[m + 9] & 0xff) << 8;
                            int alen = Math.min((buf[m + 10] & 0xff) | (buf[m + 11] & 0xff) << 8, PacketKind.MAX_ADDR_LEN);
                            mc.add(PacketMclist.newBuilder().setIndex(SockDiag.intAt(buf, m)).setType(mtype)
                                    .setAddr(ByteString.copyFrom(buf, m + 12, alen)).build());
                        }
                    }
                    case DIAG_RX_RING -> e.setRxRing(ring(buf, p));
                    case DIAG_TX_RING -> e.setTxRing(ring(buf, p));
                    case DIAG_FANOUT -> e.setFanout(SockDiag.intAt(buf, p));
                    default -> {
                    }
                }
                a += (len + 3) & ~3;
            }
            e.addAllMclist(mc);
            out.put(ino, e);
        });
        return out;
    }

    private static PacketRing ring(byte[] buf, int p) {
        return PacketRing.newBuilder().setBlockSize(SockDiag.intAt(buf, p)).setBlockNr(SockDiag.intAt(buf, p + 4))
                .setFrameSize(SockDiag.intAt(buf, p + 8)).setFrameNr(SockDiag.intAt(buf, p + 12))
                .setRetireTmo(SockDiag.intAt(buf, p + 16)).setSizeofPriv(SockDiag.intAt(buf, p + 20))
                .setFeatures(SockDiag.intAt(buf, p + 24)).build();
    }
}
