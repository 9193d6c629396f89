package fdrestore.plugin.memfd;

import fdrestore.api.image.proto.MemfdFileEntry;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * Restores one open file description of a memfd. The inode is made once in the JVM's table
 * ({@link Inode}); this file takes its own description of it, as criu does: the first read-write file gets
 * the description memfd_create made (its flags set with F_SETFL), every other one reopens
 * {@code /proc/self/fd/N} of it with its own flags. Then its position (lseek), and the copy adopted into
 * the task's table; the JVM's fds are closed on every path.
 */
final class MemfdRestorer implements FileRestorer {
    static final int O_ACCMODE = 3;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 02000000;
    static final int AT_FDCWD = -100;
    static final int F_SETFL = 4;
    static final int F_SETSIG = 10;
    /** What F_SETFL is asked to change on a memfd: everything it can but O_DIRECT. */
    static final int MEMFD_SETFL = Linux.SETFL_MASK & ~Linux.O_DIRECT;

    private final long id;
    private final MemfdFileEntry e;
    private final Inode inode;
    private boolean released;

    MemfdRestorer(long id, MemfdFileEntry e, Inode inode) {
        this.id = id;
        this.e = e;
        this.inode = inode;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int local = -1;
        boolean own = false;
        String step = "making the inode";
        try {
            int ino = inode.fd();
            int flags = e.getFlags();
            if ((flags & O_ACCMODE) == O_RDWR && inode.takeOriginal()) {
                local = ino;
                step = "fcntl(F_SETFL, 0" + Integer.toOctalString(flags & MEMFD_SETFL) + ") (field flags)";
                Syscalls.local("fcntl", local, F_SETFL, flags & MEMFD_SETFL);
            } else {
                step = "reopening it with flags 0" + Integer.toOctalString(flags) + " (field flags)";
                local = (int) Syscalls.local("openat", AT_FDCWD, "/proc/self/fd/" + ino, flags | O_CLOEXEC, 0);
                own = true;
            }
            step = "lseek to " + e.getPos() + " (field pos)";
            Syscalls.local("lseek", local, e.getPos(), 0);
            step = "adopting it into the task's table";
            int fd = t.adopt(local);
            if (e.getFown().getSignum() != 0) {
                try {
                    t.fcntl(fd, F_SETSIG, e.getFown().getSignum());
                } catch (SysException x) {
                    IOException failure = new IOException(this + ": fcntl(F_SETSIG, " + e.getFown().getSignum() + "): "
                            + x.getMessage(), x);
                    try {
                        t.close(fd);
                    } catch (SysException c) {
                        failure.addSuppressed(c);
                    }
                    throw failure;
                }
            }
            return OpenResult.done(fd);
        } catch (SysException x) {
            inode.discard();
            throw new IOException(this + ": " + step + ": " + x.getMessage(), x);
        } catch (IOException | RuntimeException x) {
            inode.discard();
            throw x;
        } finally {
            if (own) {
                try {
                    Syscalls.closeLocal(local);
                } catch (SysException ignored) {
                    // our own fd, opened above: nothing else closes it
                }
            }
            release();
        }
    }

    private void release() {
        if (!released) {
            released = true;
            inode.release();
        }
    }

    @Override
    public void abort() {
        release();
    }

    @Override
    public String toString() {
        return "memfd file " + id + " (\"" + inode.entry().getName() + "\", inode " + Long.toUnsignedString(e.getInodeId()) + ")";
    }
}
