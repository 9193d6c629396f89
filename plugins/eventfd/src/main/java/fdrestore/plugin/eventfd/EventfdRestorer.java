package fdrestore.plugin.eventfd;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * Restores one eventfd in one call: eventfd2(0, flags), then one 8-byte write of the counter (eventfd's
 * initial value is only 32 bits wide, the counter 64). The write is non-blocking in effect: a counter of
 * at most 0xfffffffffffffffe added to 0 never overflows. On failure the new fd is closed first.
 */
final class EventfdRestorer implements FileRestorer {
    private final long id;
    private final int flags;
    private final long counter;

    EventfdRestorer(long id, int flags, long counter) {
        this.id = id;
        this.flags = flags;
        this.counter = counter;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int fd;
        try {
            fd = t.eventfd(0, flags);
        } catch (SysException e) {
            throw new IOException(this + ": " + e.getMessage(), e);
        }
        if (counter == 0) {
            return OpenResult.done(fd);
        }
        byte[] le = new byte[8];
        for (int i = 0; i < 8; i++) {
            le[i] = (byte) (counter >>> (8 * i));
        }
        try {
            int n = t.write(fd, le, 0, 8);
            if (n != 8) {
                throw new IOException(this + ": writing the counter wrote " + n + " of 8 bytes");
            }
            return OpenResult.done(fd);
        } catch (IOException e) {
            IOException failure = e instanceof SysException ? new IOException(this + ": " + e.getMessage(), e) : e;
            try {
                t.close(fd);
            } catch (SysException c) {
                failure.addSuppressed(c);
            }
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "eventfd file " + id + " (counter " + Long.toUnsignedString(counter) + ")";
    }
}
