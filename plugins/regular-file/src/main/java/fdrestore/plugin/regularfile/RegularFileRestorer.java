package fdrestore.plugin.regularfile;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Restores one regular-file description: opens it (under the root, on the host for host devices, or from
 * its ghost), checks it against the image, then restores its position and owner.
 *
 * <p>Every fd this class creates is closed on every failure path before Fail is answered; the fd reported
 * with Done is the engine's.
 */
final class RegularFileRestorer implements FileRestorer {
    /** How the file is reached. */
    enum Route {
        /**
         * openat2(RESOLVE_IN_ROOT) under the restore root: an O_PATH fd first, checked with fstat, then
         * the file opened through it with the image's flags.
         */
        ROOT,
        /**
         * A file deleted at dump time that criu kept as a hard link ({@code --link-remap}): the original
         * name is linked to the link file for the time of the open, then removed again.
         */
        LINKED,
        /** A character device of the host ({@link HostDevices}), opened by its absolute path. */
        HOST,
        /** A ghost this file creates, opens (also for its peers), then unlinks. */
        GHOST_CREATOR,
        /** A ghost created by another file's restorer, which hands this file its fd. */
        GHOST_SHARER
    }

    /** Another file description of the same ghost, opened by the creator with its own flags. */
    record Peer(long fileId, int flags) {
    }

    /** What the image expects of the opened file. */
    record Expect(boolean hasSize, long size, boolean hasMode, int mode) {
    }

    /** The owner (F_SETSIG / F_SETOWN) to restore; {@code ownerArg} 0 means none. */
    record Owner(int signum, int ownerArg) {
        static final Owner NONE = new Owner(0, 0);

        boolean any() {
            return signum != 0 || ownerArg != 0;
        }
    }

    static final int ROOT_FLAGS = Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC;

    private final long id;
    private final String name;
    private final String openName;
    private final Route route;
    private final int flags;
    private final long pos;
    private final Expect expect;
    private final Owner owner;
    private final GhostFile ghost;
    private final List<Peer> peers;
    private final long creatorId;
    private final String what;

    RegularFileRestorer(long id, String name, String openName, Route route, int flags, long pos, Expect expect,
            Owner owner, GhostFile ghost, List<Peer> peers, long creatorId) {
        this.id = id;
        this.name = Objects.requireNonNull(name, "name");
        this.openName = Objects.requireNonNull(openName, "openName");
        this.route = Objects.requireNonNull(route, "route");
        this.flags = flags;
        this.pos = pos;
        this.expect = Objects.requireNonNull(expect, "expect");
        this.owner = Objects.requireNonNull(owner, "owner");
        this.ghost = ghost;
        this.peers = List.copyOf(peers);
        this.creatorId = creatorId;
        if ((route == Route.GHOST_CREATOR || route == Route.GHOST_SHARER) && ghost == null) {
            throw new IllegalArgumentException("a ghost route needs its ghost");
        }
        StringBuilder sb = new StringBuilder("regular file ").append(name);
        if (!openName.equals(name)) {
            sb.append(" (linked remap, opened as ").append(openName).append(')');
        }
        if (ghost != null) {
            sb.append(" (deleted; restored from ").append(ghost).append(')');
        }
        this.what = sb.toString();
    }

    Route route() {
        return route;
    }

    int flags() {
        return flags;
    }

    String openName() {
        return openName;
    }

    List<Peer> peers() {
        return peers;
    }

    @Override
    public List<Dependency> dependencies() {
        if (route == Route.GHOST_SHARER) {
            return List.of(Dependency.beforeOpen(creatorId, Stage.OPEN,
                    "the ghost of " + name + " is created and opened by file " + creatorId));
        }
        return List.of();
    }

    /** The file's calls in the task's shared batch (see {@link #prepare}); null before, or when none. */
    private InRoot prepared;

    /**
     * Under --root, the file's calls (open the root, openat2 the file in it, fstat it, close the root) go
     * into the task's shared batch: one hand-off for every regular file of a task that opens in a pass.
     */
    @Override
    public List<Batch.Ref> prepare(OpenContext ctx, Batch b) {
        if (route != Route.ROOT || (expect.hasMode() && isDevice(expect.mode()) && !allowDevices(ctx))) {
            return null;
        }
        prepared = addOpenInRoot(ctx, b);
        return prepared == null ? List.of() : List.of(prepared.fd()); // none: open takes the call-by-call path
    }

    @Override
    public OpenResult open(OpenContext ctx) {
        TaskTable t = ctx.table();
        if (route == Route.ROOT && ctx.prepareFailure() != null) {
            return cannotOpen(ctx, ctx.prepareFailure());
        }
        if (route == Route.ROOT && ctx.prepared() && prepared != null) {
            return finish(t, (int) prepared.fd().get(), allowDevices(ctx), prepared.stat().stat(), reopens(), ctx.root());
        }
        int fd;
        try {
            switch (route) {
                case HOST:
                    // O_NOCTTY: a tty opened here must not become the JVM's controlling tty; the kernel
                    // does not keep O_NOCTTY in f_flags, so the restored file looks the same.
                    fd = t.open(openName, flags | Linux.O_NOCTTY, 0);
                    break;
                case ROOT:
                    if (expect.hasMode() && isDevice(expect.mode()) && !allowDevices(ctx)) {
                        return OpenResult.fail(new RegularFileException(what + where(ctx) + ": is a device node (mode 0"
                                + Integer.toOctalString(expect.mode()) + "); device nodes other than the host's "
                                + "null, zero, full, random, urandom and tty are refused (--allow-devices "
                                + "restores them)"));
                    }
                    OpenResult fast = openInRootBatched(ctx, t);
                    if (fast != null) {
                        return fast;
                    }
                    fd = openInRoot(t, ctx.root(), openName, firstFlags());
                    return finish(t, fd, allowDevices(ctx), null, reopens(), ctx.root());
                case LINKED:
                    fd = RemapOpen.openLinked(ctx, name, openName, firstFlags(), what);
                    return finish(t, fd, allowDevices(ctx), null, reopens(), ctx.root());
                case GHOST_CREATOR:
                    fd = RemapOpen.openGhost(ctx, ghost, name, flags, peers, what);
                    break;
                case GHOST_SHARER: {
                    OptionalInt handed = ctx.takeHandOff();
                    if (handed.isEmpty()) {
                        ctx.waitingFor("waits for file " + creatorId + " to recreate the ghost of " + name);
                        return OpenResult.again();
                    }
                    fd = handed.getAsInt();
                    break;
                }
                default:
                    throw new AssertionError(route);
            }
        } catch (IOException | RegularFileException e) {
            return cannotOpen(ctx, e);
        }
        return finish(t, fd, allowDevices(ctx), null, false, null);
    }

    /** Whether the first open is an O_PATH fd that the file is then opened through (not when the image's is O_PATH). */
    private boolean reopens() {
        return !OpenFlags.isPath(flags);
    }

    /** The flags of the first open under the root: the image's own for an O_PATH file, else an O_PATH open. */
    private int firstFlags() {
        return reopens() ? OpenFlags.forPath(flags) : flags;
    }

    /** The plugin option {@value #ALLOW_DEVICES} (the CLI's --allow-devices). */
    static final String ALLOW_DEVICES = "allow-devices";

    private static boolean allowDevices(OpenContext ctx) {
        return "true".equals(ctx.option(ALLOW_DEVICES));
    }

    private static boolean isDevice(int mode) {
        int type = mode & Linux.S_IFMT;
        return type == Linux.S_IFCHR || type == Linux.S_IFBLK;
    }

    private String where(OpenContext ctx) {
        if (route == Route.HOST) {
            return " (host device)";
        }
        Path root = ctx.root();
        return root == null || root.normalize().toString().equals("/") ? "" : " under root " + root;
    }

    /**
     * The common case in one hand-off: open the root, openat2 the file in it, fstat it, close the root;
     * then the same checks as {@link #finish}. Null when the table's batches cannot do it (older
     * implementations of the SPI): the caller takes the call-by-call path.
     */
    private OpenResult openInRootBatched(OpenContext ctx, TaskTable t) {
        Batch b = t.batch();
        InRoot in = addOpenInRoot(ctx, b);
        if (in == null) {
            return null;
        }
        try {
            b.run(); // on failure the batch closes what it opened
        } catch (SysException e) {
            return cannotOpen(ctx, e);
        }
        return finish(t, (int) in.fd().get(), allowDevices(ctx), in.stat().stat(), reopens(), ctx.root());
    }

    /** The file's fd and its fstat, results of calls added to a batch. */
    private record InRoot(Batch.Ref fd, Batch.StatRef stat) {
    }

    /**
     * Adds the file's calls to {@code b}: open the root, openat2 the file in it, fstat it, close the root.
     * Null when the batch cannot openat2 on an earlier result (older implementations of the SPI); the
     * root's open is then closed again in the batch, which stays whole.
     */
    private InRoot addOpenInRoot(OpenContext ctx, Batch b) {
        Batch.Ref root = b.open(rootPath(ctx.root()), ROOT_FLAGS, 0);
        Batch.Ref f;
        try {
            f = b.openAt2(root, relative(openName), firstFlags(), 0, Linux.RESOLVE_IN_ROOT);
        } catch (UnsupportedOperationException notHere) {
            b.close(root);
            return null;
        }
        Batch.StatRef st = b.fstat(f);
        b.close(root);
        return new InRoot(f, st);
    }

    private OpenResult cannotOpen(OpenContext ctx, Exception e) {
        return OpenResult.fail(new RegularFileException(what + where(ctx) + ": cannot open: " + e.getMessage(), e));
    }

    /**
     * Checks the opened fd, then restores position and owner; closes the fd on any failure. With
     * {@code reopen}, {@code fd} is an O_PATH fd: the file is opened through it (/proc/thread-self/fd/N,
     * the same inode, with the image's flags) only once fstat showed it is what the image describes, so a
     * path that now names a FIFO or a device is never opened (no wait for a FIFO's peer, no driver's open).
     * An O_NOFOLLOW file is opened again by its name under {@code root}.
     */
    private OpenResult finish(TaskTable t, int fd, boolean allowDevices, TaskTable.Stat known, boolean reopen,
            Path root) {
        int pathFd = reopen ? fd : -1;
        int real = reopen ? -1 : fd;
        try {
            TaskTable.Stat st = known != null ? known : t.fstat(fd);
            if (route != Route.HOST && isDevice(st.mode()) && !allowDevices) {
                // the image did not say so (no mode, or another one): what the path names now is a device
                throw new RegularFileException(what + ": is a device node (mode 0" + Integer.toOctalString(st.mode())
                        + ") under the root; refused without --allow-devices");
            }
            checkType(st);
            check(st);
            boolean pathOnly = OpenFlags.isPath(flags);
            boolean seek = pos != 0 && !pathOnly;
            if (seek && route == Route.HOST) {
                try {
                    t.lseek(fd, pos, Linux.SEEK_SET);
                } catch (SysException e) {
                    if (e.errno() != Errno.ESPIPE) {
                        throw e;
                    }
                    // A device without a position (a tty): nothing to restore.
                }
                seek = false;
            }
            boolean fown = owner.any() && !pathOnly;
            if (reopen || seek || fown) {
                Batch b = t.batch();
                Batch.Ref r;
                int closeAt = -1;
                if (reopen) {
                    Batch.Ref p = b.fd(pathFd);
                    if ((flags & Linux.O_NOFOLLOW) == 0) {
                        r = b.open(procFd(pathFd), flags, 0);
                    } else {
                        // The magic link cannot be opened with O_NOFOLLOW, which f_flags keeps: open the name.
                        Batch.Ref in = b.open(rootPath(root), ROOT_FLAGS, 0);
                        r = b.openAt2(in, relative(openName), flags, 0, Linux.RESOLVE_IN_ROOT);
                        b.close(in);
                    }
                    closeAt = b.size();
                    b.close(p);
                } else {
                    r = b.fd(fd);
                }
                if (seek) {
                    b.lseek(r, pos, Linux.SEEK_SET);
                }
                if (fown && owner.signum() != 0) {
                    b.fcntl(r, Linux.F_SETSIG, owner.signum());
                }
                if (fown && owner.ownerArg() != 0) {
                    b.fcntl(r, Linux.F_SETOWN, owner.ownerArg());
                }
                try {
                    b.run(); // closes the reopened fd itself when a later call fails
                } catch (SysException e) {
                    if (reopen && b.failedCall() >= closeAt) {
                        pathFd = -1; // the batch closed it (or its close failed: it is not ours any more)
                    }
                    throw e;
                }
                if (reopen) {
                    pathFd = -1;
                    real = (int) r.get();
                }
            }
            return OpenResult.done(real);
        } catch (SysException | RegularFileException | RuntimeException e) {
            for (int open : new int[] {real, pathFd}) {
                if (open < 0) {
                    continue;
                }
                try {
                    t.close(open);
                } catch (SysException | RuntimeException c) {
                    e.addSuppressed(c);
                }
            }
            if (e instanceof RegularFileException) {
                return OpenResult.fail(e);
            }
            return OpenResult.fail(new RegularFileException(what + ": " + e.getMessage(), e));
        }
    }

    /** The magic link through which an executor thread opens its own fd {@code fd} again. */
    static String procFd(int fd) {
        return "/proc/thread-self/fd/" + fd;
    }

    /**
     * Refuses what a regular-file entry cannot name: a FIFO or a socket (a FIFO's open would wait for a
     * peer for ever), or a symbolic link the image's O_NOFOLLOW open would not have opened.
     */
    private void checkType(TaskTable.Stat st) throws RegularFileException {
        int type = st.mode() & Linux.S_IFMT;
        String kind = type == Linux.S_IFIFO ? "a FIFO" : type == Linux.S_IFSOCK ? "a socket"
                : type == Linux.S_IFLNK && !OpenFlags.isPath(flags) ? "a symbolic link" : null;
        if (kind != null) {
            throw new RegularFileException(what + ": is " + kind + " (mode 0" + Integer.toOctalString(st.mode())
                    + "), not a regular file, directory or device; refusing to open it");
        }
    }

    /** Refuses a file that is not the one the image describes (CRIU's validate_file). */
    private void check(TaskTable.Stat st) throws RegularFileException {
        if (expect.hasMode()) {
            int mask = route == Route.HOST ? Linux.S_IFMT : Linux.S_IFMT | 07777;
            int want = expect.mode() & mask;
            int have = st.mode() & mask;
            if (want != have) {
                throw new RegularFileException(what + ": mode is 0" + Integer.toOctalString(have)
                        + ", the image expects 0" + Integer.toOctalString(want)
                        + " (the file changed since the dump; refusing to restore it)");
            }
        }
        if (expect.hasSize() && st.size() != expect.size()) {
            throw new RegularFileException(what + ": size is " + st.size() + " bytes, the image expects "
                    + expect.size() + " (the file changed since the dump; refusing to restore it)");
        }
    }

    /**
     * Where the ghost of {@code name} is created: its path under the real root, whose directory must exist
     * and must not leave the root through a symlink.
     */
    static Path ghostTarget(Path root, String name) throws IOException, RegularFileException {
        Path realRoot = root.toRealPath();
        Path p = realRoot.resolve(relative(name)).normalize();
        if (!p.startsWith(realRoot) || p.equals(realRoot) || p.getFileName() == null) {
            throw new RegularFileException("the ghost path " + name + " does not name a file under the root "
                    + realRoot);
        }
        Path dir = p.getParent().toRealPath();
        if (!dir.startsWith(realRoot)) {
            throw new RegularFileException("the directory of the ghost path " + name + " resolves to " + dir
                    + ", outside the root " + realRoot);
        }
        return dir.resolve(p.getFileName());
    }

    /** openat2(rootFd, name relative to the root, RESOLVE_IN_ROOT); the root fd is closed on every path. */
    static int openInRoot(TaskTable t, Path root, String name, int flags) throws SysException {
        int rootFd = t.open(rootPath(root), ROOT_FLAGS, 0);
        int fd;
        try {
            fd = t.openAt2(rootFd, relative(name), flags, 0, Linux.RESOLVE_IN_ROOT);
        } catch (SysException | RuntimeException e) {
            try {
                t.close(rootFd);
            } catch (SysException c) {
                e.addSuppressed(c);
            }
            throw e;
        }
        try {
            t.close(rootFd);
        } catch (SysException e) {
            try {
                t.close(fd);
            } catch (SysException c) {
                e.addSuppressed(c);
            }
            throw e;
        }
        return fd;
    }

    static String rootPath(Path root) {
        return root == null ? "/" : root.toAbsolutePath().normalize().toString();
    }

    /** An image path relative to the root: "/a/b" is "a/b", "/" is ".". */
    static String relative(String name) {
        int i = 0;
        while (i < name.length() && name.charAt(i) == '/') {
            i++;
        }
        return i == name.length() ? "." : name.substring(i);
    }

    @Override
    public String toString() {
        return what + " [" + route + ", " + Linux.openFlags(flags) + ", pos " + pos + "]";
    }
}
