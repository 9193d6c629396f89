package fdrestore.plugin.fanotify;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.fanotify.FanotifyKind.Mark;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores one fanotify group in the JVM's own table, as criu does: fanotify_init with the image's init
 * flags (FAN_CLOEXEC only if they have it, since fdinfo shows them; FD_CLOEXEC is set on the JVM's fd right
 * after) and event flags, then each mark, last first (the kernel lists marks newest first, so fdinfo and a
 * second dump keep the image's order), with FAN_MARK_ADD and its mark flags (FAN_MARK_MOUNT for a mount
 * mark), its mask, then its ignored mask (FAN_MARK_IGNORED_MASK). A mark's target is opened first as an
 * O_PATH fd: its path resolved under --root as if it were "/" (openat2 RESOLVE_IN_ROOT: no way out by
 * ".." or a symbolic link), or, when criu recorded no path, its file handle opened on the root's file
 * system; the mark is added on {@code /proc/self/fd/N}. Then the group is adopted into the task and every
 * fd of the JVM is closed.
 */
final class FanotifyRestorer implements FileRestorer {
    private static final int FAN_CLOEXEC = 0x1;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;
    private static final int FAN_MARK_ADD = 0x1;
    private static final int FAN_MARK_MOUNT = 0x10;
    private static final int FAN_MARK_IGNORED_MASK = 0x20;
    private static final int O_PATH = 010000000;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_CLOEXEC = 02000000;
    private static final int AT_FDCWD = -100;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_IN_ROOT = 0x10;

    private final long id;
    private final int initFlags;
    private final int eventFlags;
    private final List<Mark> marks;
    private final Path root;

    FanotifyRestorer(long id, int initFlags, int eventFlags, List<Mark> marks, Path root) {
        this.id = id;
        this.initFlags = initFlags;
        this.eventFlags = eventFlags;
        this.marks = marks;
        this.root = root;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        List<Integer> jvm = new ArrayList<>();
        List<Integer> owned = new ArrayList<>();
        try {
            int group;
            try {
                group = (int) Syscalls.local("fanotify_init", initFlags, eventFlags);
            } catch (SysException e) {
                throw new IOException(this + ": " + e.getMessage(), e);
            }
            jvm.add(group);
            if ((initFlags & FAN_CLOEXEC) == 0) {
                // made without it, as the image's group was (fdinfo shows the init flags); the JVM's fd gets it
                // at once (a process the JVM spawns closes what it inherits anyway; the engine sets the task's)
                Syscalls.local("fcntl", group, F_SETFD, FD_CLOEXEC);
            }
            for (int i = marks.size() - 1; i >= 0; i--) {
                add(group, marks.get(i)); // the kernel lists a group's marks newest first: fdinfo keeps the image's order
            }
            owned.add(ctx.table().adopt(group));
            Syscalls.closeAllLocal(jvm, null);
            return OpenResult.done(owned.get(0));
        } catch (IOException e) {
            IOException failure = e instanceof SysException ? new IOException(this + ": " + e.getMessage(), e) : e;
            Syscalls.closeAllLocal(jvm, failure);
            ctx.table().closeAll(owned, failure);
            throw failure;
        }
    }

    /** Adds one mark: its mask, then its ignored mask, on its target opened O_PATH. */
    private void add(int group, Mark m) throws IOException {
        int target = -1;
        try {
            target = m.path() != null ? underRoot(m) : byHandle(m);
            String at = "/proc/self/fd/" + target;
            int flags = FAN_MARK_ADD | m.mflags() | (m.mount() ? FAN_MARK_MOUNT : 0);
            if (m.mask() != 0) {
                Syscalls.local("fanotify_mark", group, flags, Integer.toUnsignedLong(m.mask()), AT_FDCWD, at);
            }
            if (m.ignoredMask() != 0) {
                Syscalls.local("fanotify_mark", group, flags | FAN_MARK_IGNORED_MASK,
                        Integer.toUnsignedLong(m.ignoredMask()), AT_FDCWD, at);
            }
        } catch (SysException e) {
            throw new IOException(this + ": " + m + ": " + e.getMessage(), e);
        } finally {
            if (target >= 0) {
                Syscalls.closeLocal(target);
            }
        }
    }

    /** The mark's path under the root, as an O_PATH fd in the JVM's table. */
    private int underRoot(Mark m) throws IOException {
        int dir = (int) Syscalls.local("openat", AT_FDCWD, root.toString(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        try {
            byte[] how = new byte[24];
            long flags = O_PATH | O_CLOEXEC;
            long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
            for (int i = 0; i < 8; i++) {
                how[i] = (byte) (flags >>> (8 * i));
                how[16 + i] = (byte) (resolve >>> (8 * i));
            }
            return (int) Syscalls.local("openat2", dir, m.path(), how, how.length);
        } catch (SysException e) {
            throw new IOException(this + ": " + m + ": " + m.path() + " under root " + root + ": " + e.getMessage(), e);
        } finally {
            Syscalls.closeLocal(dir);
        }
    }

    /** The inode of a handle-only mark, as an O_PATH fd in the JVM's table. */
    private int byHandle(Mark m) throws IOException {
        int mount = (int) Syscalls.local("openat", AT_FDCWD, root.toString(), O_DIRECTORY | O_CLOEXEC, 0);   // not O_PATH: open_by_handle_at refuses it
        try {
            int n = m.handle().length;
            byte[] fh = new byte[8 + n];
            fh[0] = (byte) n;
            fh[1] = (byte) (n >>> 8);
            for (int i = 0; i < 4; i++) {
                fh[4 + i] = (byte) (m.handleType() >>> (8 * i));
            }
            System.arraycopy(m.handle(), 0, fh, 8, n);
            return (int) Syscalls.local("open_by_handle_at", mount, fh, O_PATH | O_CLOEXEC);
        } catch (SysException e) {
            throw new IOException(this + ": " + m + ": criu recorded no path and its file handle does not open on "
                    + "the file system of " + root + " (" + e.getMessage() + ")", e);
        } finally {
            Syscalls.closeLocal(mount);
        }
    }

    @Override
    public String toString() {
        return "fanotify file " + id + " (" + marks.size() + " mark" + (marks.size() == 1 ? "" : "s") + ")";
    }
}
