package fdrestore.plugin.unixsocket;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FdChecks;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/** The file kind of unix sockets ({@code FdType.UNIXSK}); see {@link UnixImages} for the plan, {@link UnixDumper} for the dump. */
@Extension
public final class UnixSocketKind implements FileKind, FileDumper {
    @Override
    public String name() {
        return "unix";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.UNIXSK);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return UnixDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return UnixDumper.dump(ctx);
    }

    @Override
    public java.util.Map<Long, Integer> inFlight(fdrestore.api.image.ImageSet images) {
        return UnixImages.plan(images).inFlight();
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasUsk()) {
            throw new PlanException(file + ": files.img has no unix socket entry for it");
        }
        return new UnixRestorer(UnixImages.of(ctx).plan(file.id()), RestoreNames.of(ctx));
    }

    /** criu's name of a socket: {@code socket:[INO]}. */
    @Override
    public String inheritKey(FileEntry entry, ImageSet images) {
        return entry.hasUsk() ? "socket:[" + Integer.toUnsignedString(entry.getUsk().getIno()) + "]" : null;
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasUsk()) {
            return null;
        }
        UnixSkEntry u = entry.getUsk();
        String type = switch (u.getType()) {
            case 1 -> "stream";
            case 2 -> "dgram";
            case 5 -> "seqpacket";
            default -> "type " + u.getType();
        };
        String state = switch (u.getState()) {
            case 1 -> "established";
            case 7 -> "close";
            case 10 -> "listen";
            default -> "state " + u.getState();
        };
        StringBuilder sb = new StringBuilder("unix ").append(type).append(' ').append(state)
                .append(" ino ").append(Integer.toUnsignedString(u.getIno()));
        byte[] name = u.getName().toByteArray();
        if (name.length > 0) {
            sb.append(" name ").append(Describe.sockName(name));
        }
        if (u.getPeer() != 0) {
            FileEntry peer = byInode(images, u.getPeer());
            sb.append(" peer ino ").append(Integer.toUnsignedString(u.getPeer()));
            sb.append(peer == null ? " (not in the image set)" : " (file " + Integer.toUnsignedString(peer.getId()) + ")");
        }
        if (state.equals("listen")) {
            sb.append(" backlog ").append(u.getBacklog());
        }
        return sb.toString();
    }

    /** The unix socket entry with inode {@code ino} (the last one, should the images repeat it); null if none. */
    static FileEntry byInode(ImageSet images, int ino) {
        FileEntry found = null;
        for (FileEntry f : images.files().values()) {
            if (f.hasUsk() && f.getUsk().getIno() == ino) {
                found = f;
            }
        }
        return found;
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "socket:[");
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        if (!entry.hasUsk()) {
            return null;
        }
        UnixSkEntry u = entry.getUsk();
        return new Summary(u.getName().isEmpty() ? null : Describe.sockName(u.getName().toByteArray()), u.getFlags(), null);
    }

    /** Its peer, when they are each other's (drawn from the lower inode); else the peer it connects to. */
    @Override
    public List<FileEdge> graphEdges(FileEntry entry, ImageSet images) {
        if (!entry.hasUsk() || entry.getUsk().getPeer() == 0) {
            return List.of();
        }
        UnixSkEntry u = entry.getUsk();
        FileEntry peer = byInode(images, u.getPeer());
        if (peer == null) {
            return List.of();
        }
        long peerId = Integer.toUnsignedLong(peer.getId());
        if (peer.getUsk().getPeer() != u.getIno()) {
            return List.of(FileEdge.after(peerId, "connect"));
        }
        return Integer.compareUnsigned(u.getIno(), peer.getUsk().getIno()) < 0
                ? List.of(FileEdge.peer(peerId, "peer")) : List.of();
    }
}
