package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.PlanContext;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the unix restorers of one restore share at run time: where each deleted path name that is bound
 * again can be reached ({@link DeletedName#reachAddress()}), by socket inode. One per {@link PlanContext}
 * (one per restore, its {@link PlanContext#memo}), gone with its restore.
 */
final class RestoreNames {
    private final Map<Long, byte[]> reach = new ConcurrentHashMap<>();

    static RestoreNames of(PlanContext ctx) {
        return ctx.memo(RestoreNames.class, RestoreNames::new);
    }

    void reachable(long ino, byte[] address) {
        reach.put(ino, address);
    }

    /** The address peers use for socket {@code ino}'s deleted name, or null before it is bound. */
    byte[] reach(long ino) {
        return reach.get(ino);
    }
}
