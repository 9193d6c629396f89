package ${package};

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one counter: eventfd2(0, flags) on the task's own table, then one 8-byte write of the
 * counter. Every syscall goes through {@code ctx.table()}; the new fd is a temporary until it is returned
 * with {@code OpenResult.done}, so an error path closes it first.
 */
final class CounterRestorer implements FileRestorer {
    private final long id;
    private final int flags;
    private final long counter;

    CounterRestorer(long id, int flags, long counter) {
        this.id = id;
        this.flags = flags;
        this.counter = counter;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int fd = t.eventfd(0, flags);
        if (counter == 0) {
            return OpenResult.done(fd);
        }
        byte[] le = new byte[8];
        for (int i = 0; i < 8; i++) {
            le[i] = (byte) (counter >>> (8 * i));
        }
        List<Integer> owned = new ArrayList<>(List.of(fd));
        try {
            int n = t.write(fd, le, 0, 8);
            if (n != 8) {
                throw new IOException(this + ": writing the counter wrote " + n + " of 8 bytes");
            }
            return OpenResult.done(fd);
        } catch (IOException e) {
            IOException failure = new IOException(this + ": " + e.getMessage(), e);
            t.closeAll(owned, failure);
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "${kindName} file " + id + " (counter " + Long.toUnsignedString(counter) + ")";
    }
}
