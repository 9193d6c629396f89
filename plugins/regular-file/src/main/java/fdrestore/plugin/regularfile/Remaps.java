package fdrestore.plugin.regularfile;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The entries of {@code remap-fpath.img}, indexed by the file they remap ({@code orig_id}) and by the
 * object they remap to ({@code remap_id}). Built once per image set.
 */
final class Remaps {
    /** CRIU's remap_type values. */
    static final int LINKED = 0;
    static final int GHOST = 1;
    static final int PROCFS = 2;
    /** Images written before remap_type existed flag a ghost in the top bit of remap_id. */
    static final int LEGACY_GHOST_BIT = 0x80000000;

    /** One remap: file {@code origId} is reached through {@code remapId}, of {@code type}. */
    record Remap(long origId, long remapId, int type) {
        String typeName() {
            switch (type) {
                case LINKED: return "LINKED";
                case GHOST: return "GHOST";
                case PROCFS: return "PROCFS";
                default: return "type " + type;
            }
        }
    }

    private final Map<Long, Remap> byOrig;
    private final Map<Long, List<Long>> ghostUsers;

    private Remaps(Map<Long, Remap> byOrig) {
        this.byOrig = byOrig;
        Map<Long, List<Long>> users = new HashMap<>();
        for (Remap r : byOrig.values()) {
            if (r.type == GHOST) {
                users.computeIfAbsent(r.remapId, k -> new ArrayList<>()).add(r.origId);
            }
        }
        users.replaceAll((k, v) -> {
            Collections.sort(v);
            return List.copyOf(v);
        });
        this.ghostUsers = users;
    }

    /** The remaps of the restore's image set, read once per plan ({@link PlanContext#memo}), or why not. */
    static Remaps of(PlanContext ctx) throws PlanException {
        Object r = ctx.memo(Remaps.class, () -> {
            try {
                return fromEntries(ctx.images().entries(Magic.REMAP_FPATH, RemapFilePathEntry.class));
            } catch (IOException e) {
                return new PlanException("cannot read " + Magic.REMAP_FPATH.fileName() + ": " + e.getMessage(), e);
            } catch (PlanException e) {
                return e;
            }
        });
        if (r instanceof PlanException e) {
            throw new PlanException(e.getMessage(), e.getCause());
        }
        return (Remaps) r;
    }

    /** Builds the index from the messages of remap-fpath.img. */
    static Remaps fromEntries(List<RemapFilePathEntry> entries) throws PlanException {
        Map<Long, Remap> byOrig = new TreeMap<>();
        for (RemapFilePathEntry e : entries) {
            long orig = Integer.toUnsignedLong(e.getOrigId());
            int rawId = e.getRemapId();
            int type;
            if (e.hasRemapType()) {
                type = e.getRemapType();
            } else if ((rawId & LEGACY_GHOST_BIT) != 0) {
                type = GHOST;
                rawId &= ~LEGACY_GHOST_BIT;
            } else {
                type = LINKED;
            }
            Remap r = new Remap(orig, Integer.toUnsignedLong(rawId), type);
            Remap old = byOrig.putIfAbsent(orig, r);
            if (old != null && !old.equals(r)) {
                throw new PlanException(Magic.REMAP_FPATH.fileName() + ": file " + orig + " is remapped twice ("
                        + old.typeName() + " " + old.remapId + " and " + r.typeName() + " " + r.remapId + ")");
            }
        }
        return new Remaps(byOrig);
    }

    /** The remap of file {@code fileId}, or null when it is reached by its own name. */
    Remap of(long fileId) {
        return byOrig.get(fileId);
    }

    /** The files (orig ids, sorted) that a ghost {@code remapId} stands for. */
    List<Long> ghostUsers(long remapId) {
        return ghostUsers.getOrDefault(remapId, List.of());
    }
}
