package fdrestore.plugin.inetsocket;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.spi.PlanContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the inet sockets of one image set have to do with each other: which descriptions bind the same
 * protocol and port (CRIU's inet port users), and which established TCP descriptions are the two ends of
 * one connection. Only descriptions that some fd refers to are counted: the others are never restored.
 */
final class InetImages {
    /** (proto, port) -> the file ids that bind it, ascending. */
    private final Map<String, List<Long>> portUsers = new TreeMap<>();
    /** "src|dst" of each connected TCP description (established or half closed) -> its file id. */
    private final Map<String, Long> established = new TreeMap<>();

    private InetImages(ImageSet images) {
        for (Long id : images.sharers().keySet()) {
            FileEntry f = images.file(id).orElse(null);
            if (f == null || !f.hasIsk()) {
                continue;
            }
            InetSkEntry e = f.getIsk();
            if (e.getFamily() != InetConst.AF_INET && e.getFamily() != InetConst.AF_INET6) {
                continue;
            }
            boolean tcp = e.getType() == InetConst.SOCK_STREAM && e.getProto() == InetConst.IPPROTO_TCP;
            if ((tcp || InetSocket.isUdp(e.getType(), e.getProto())) && binds(e)) {
                portUsers.computeIfAbsent(portKey(e), k -> new ArrayList<>()).add(id);
            }
            if (tcp && InetSocket.isConnection(e.getState())) {
                established.put(endsKey(e, false), id);
            }
        }
        portUsers.values().forEach(Collections::sort);
    }

    /** The index of the restore's image set, made once per plan ({@link PlanContext#memo}). */
    static InetImages of(PlanContext ctx) {
        return ctx.memo(InetImages.class, () -> new InetImages(ctx.images()));
    }

    /** Whether the description binds: a port, or a specific address. */
    static boolean binds(InetSkEntry e) {
        if (e.getSrcPort() != 0) {
            return true;
        }
        for (int w : e.getSrcAddrList()) {
            if (w != 0) {
                return true;
            }
        }
        return false;
    }

    private static String portKey(InetSkEntry e) {
        return e.getProto() + ":" + e.getSrcPort();
    }

    private static String endsKey(InetSkEntry e, boolean swapped) {
        String src = e.getFamily() + "/" + e.getSrcAddrList() + "/" + e.getSrcPort();
        String dst = e.getFamily() + "/" + e.getDstAddrList() + "/" + e.getDstPort();
        return swapped ? dst + "|" + src : src + "|" + dst;
    }

    /** The other descriptions bound to the same protocol and port as {@code fileId}. */
    List<Long> otherPortUsers(long fileId, InetSkEntry e) {
        if (!binds(e)) {
            return List.of();
        }
        List<Long> all = portUsers.getOrDefault(portKey(e), List.of());
        List<Long> out = new ArrayList<>(all);
        out.remove(Long.valueOf(fileId));
        return out;
    }

    /** The description at the other end of established TCP connection {@code e}, or -1. */
    long streamPeer(long fileId, InetSkEntry e) {
        Long peer = established.get(endsKey(e, true));
        return peer == null || peer == fileId ? -1 : peer;
    }
}
