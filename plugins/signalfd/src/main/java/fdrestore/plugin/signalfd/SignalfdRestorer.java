package fdrestore.plugin.signalfd;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one signalfd: signalfd4(-1, mask, 8, flags) in the JVM's own table (core has no call for
 * it), then {@link TaskTable#adopt} puts a copy in the task's table, and the JVM's fd is closed. The
 * copy is the same open file description, so the task gets exactly the mask and flags made here.
 */
final class SignalfdRestorer implements FileRestorer {
    /** SFD_CLOEXEC: the JVM's fd never leaks into a process the JVM spawns meanwhile. */
    private static final int SFD_CLOEXEC = 02000000;

    private final long id;
    private final int flags;
    private final long sigmask;

    SignalfdRestorer(long id, int flags, long sigmask) {
        this.id = id;
        this.flags = flags;
        this.sigmask = sigmask;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        byte[] mask = new byte[8];
        for (int i = 0; i < 8; i++) {
            mask[i] = (byte) (sigmask >>> (8 * i));
        }
        int jvmFd;
        try {
            jvmFd = (int) Syscalls.local("signalfd4", -1, mask, 8, flags | SFD_CLOEXEC);
        } catch (SysException e) {
            throw new IOException(this + ": " + e.getMessage(), e);
        }
        List<Integer> owned = new ArrayList<>();
        try {
            owned.add(ctx.table().adopt(jvmFd));
            Syscalls.closeLocal(jvmFd);
            jvmFd = -1;
            return OpenResult.done(owned.get(0));
        } catch (SysException e) {
            IOException failure = new IOException(this + ": " + e.getMessage(), e);
            if (jvmFd >= 0) {
                try {
                    Syscalls.closeLocal(jvmFd);
                } catch (SysException c) {
                    failure.addSuppressed(c);
                }
            }
            ctx.table().closeAll(owned, failure);
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "signalfd file " + id + " (sigmask 0x" + Long.toHexString(sigmask) + ")";
    }
}
