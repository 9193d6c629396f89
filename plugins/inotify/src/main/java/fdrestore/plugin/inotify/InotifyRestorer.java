package fdrestore.plugin.inotify;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.inotify.InotifyKind.Watch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one inotify instance in the JVM's own table: inotify_init1, then each watch in wd order with
 * inotify_add_watch on its path under --root (or, when criu recorded no path, on the inode its file handle
 * opens with open_by_handle_at on the root's mount). The kernel hands out wds in order, so a watch whose
 * wd comes out lower than the image's is removed and added again until it matches (criu does the same).
 * Then the instance is adopted into the task and the JVM's fds are closed.
 */
final class InotifyRestorer implements FileRestorer {
    private static final int IN_CLOEXEC = 02000000;
    private static final int O_PATH = 010000000;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_CLOEXEC = 02000000;
    private static final int AT_FDCWD = -100;
    private static final int IN_DONT_FOLLOW = 0x02000000;
    private static final int ENOENT = 2;

    private final long id;
    private final int flags;
    private final List<Watch> watches;
    private final Path root;
    private final boolean dropMissing;

    InotifyRestorer(long id, int flags, List<Watch> watches, Path root, boolean dropMissing) {
        this.id = id;
        this.flags = flags;
        this.watches = watches;
        this.root = root;
        this.dropMissing = dropMissing;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        List<Integer> jvm = new ArrayList<>();
        List<Integer> owned = new ArrayList<>();
        try {
            int in = (int) Syscalls.local("inotify_init1", flags | IN_CLOEXEC);
            jvm.add(in);
            for (Watch w : watches) {
                add(in, w);
            }
            owned.add(ctx.table().adopt(in));
            Syscalls.closeAllLocal(jvm, null);
            return OpenResult.done(owned.get(0));
        } catch (IOException e) {
            IOException failure = e instanceof SysException ? new IOException(this + ": " + e.getMessage(), e) : e;
            Syscalls.closeAllLocal(jvm, failure);
            ctx.table().closeAll(owned, failure);
            throw failure;
        }
    }

    /** Adds one watch, with its wd; drops it (option) or fails when its inode cannot be found. */
    private void add(int in, Watch w) throws IOException {
        String target;
        int mask = w.mask();
        List<Integer> tmp = new ArrayList<>();
        try {
            if (w.path() != null) {
                target = root.resolve(w.path().substring(1)).toString();
            } else {
                int fd = byHandle(w);
                if (fd < 0) {
                    return;   // dropped
                }
                tmp.add(fd);
                target = "/proc/self/fd/" + fd;
                mask &= ~IN_DONT_FOLLOW;   // the magic link leads to the inode itself
            }
            for (int tries = 0; ; tries++) {
                int got;
                try {
                    got = (int) Syscalls.local("inotify_add_watch", in, target, mask);
                } catch (SysException e) {
                    if (e.errno() == ENOENT && dropMissing) {
                        return;
                    }
                    throw new IOException(this + ": " + w + ": " + e.getMessage()
                            + (e.errno() == ENOENT ? " (--plugin-option " + InotifyKind.DROP_MISSING + "=true drops it)" : ""), e);
                }
                if (got == w.wd()) {
                    return;
                }
                if (got > w.wd() || tries > w.wd()) {
                    throw new IOException(this + ": " + w + ": the kernel gave wd " + got
                            + ", and a wd is never handed out again below the last one");
                }
                Syscalls.local("inotify_rm_watch", in, got);
            }
        } finally {
            Syscalls.closeAllLocal(tmp, null);
        }
    }

    /** The inode of a handle-only watch, as an O_PATH fd in the JVM's table, or -1 when dropped. */
    private int byHandle(Watch w) throws IOException {
        int mount = (int) Syscalls.local("openat", AT_FDCWD, root.toString(), O_DIRECTORY | O_CLOEXEC, 0);   // not O_PATH: open_by_handle_at refuses it
        try {
            byte[] fh = new byte[8 + w.handle().length];
            int n = w.handle().length;
            fh[0] = (byte) n;
            fh[1] = (byte) (n >>> 8);
            fh[4] = (byte) w.handleType();
            fh[5] = (byte) (w.handleType() >>> 8);
            fh[6] = (byte) (w.handleType() >>> 16);
            fh[7] = (byte) (w.handleType() >>> 24);
            System.arraycopy(w.handle(), 0, fh, 8, n);
            return (int) Syscalls.local("open_by_handle_at", mount, fh, O_PATH | O_CLOEXEC);
        } catch (SysException e) {
            if (dropMissing) {
                return -1;
            }
            throw new IOException(this + ": " + w + ": criu recorded no path and its file handle does not open on "
                    + "the file system of " + root + " (" + e.getMessage() + "); --plugin-option " + InotifyKind.DROP_MISSING
                    + "=true drops it", e);
        } finally {
            Syscalls.closeLocal(mount);
        }
    }

    @Override
    public String toString() {
        return "inotify file " + id + " (" + watches.size() + " watches)";
    }
}
