package fdrestore.plugin.unixsocket;

import fdrestore.api.image.proto.FilePermsEntry;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Where a path-named socket lives on this machine: {@code host}, the image path resolved under the real
 * {@code --root} (its directory must exist and must not leave the root through a symlink), and the
 * {@code struct sockaddr_un} to bind or connect to. With root "/" the address is the image path itself, so
 * getsockname() returns exactly what the images recorded; under another root it is the host path.
 *
 * <p>The file system checks (stale socket, permissions, unlink) are path operations made with java.nio on
 * the engine thread, never on an executor thread; they touch only the socket files this plugin binds.
 */
record SockPath(Path host, byte[] address, String imagePath) {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    /** Resolves the path name of {@code s} under {@code root}. */
    static SockPath of(Path root, UnixSock s) throws IOException {
        return of(root, s, false);
    }

    /**
     * Like {@link #of(Path, UnixSock)} for a deleted name: its directory may be missing (it was removed
     * since); the real path of its nearest existing ancestor (which must stay under the root) is then
     * followed by the missing components.
     */
    static SockPath ofDeleted(Path root, UnixSock s) throws IOException {
        return of(root, s, true);
    }

    /** {@code dir} with its longest existing prefix replaced by its real path. */
    private static Path realMissing(Path dir) throws IOException {
        Path existing = dir;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return dir;
        }
        return existing.toRealPath().resolve(existing.relativize(dir));
    }

    private static SockPath of(Path root, UnixSock s, boolean deleted) throws IOException {
        String abs = s.name().absolutePath(s.nameDir());
        Path realRoot = (root == null ? Path.of("/") : root).toRealPath();
        Path lexical = realRoot.resolve(UnixName.stripSlashes(abs)).normalize();
        if (!lexical.startsWith(realRoot) || lexical.equals(realRoot) || lexical.getFileName() == null) {
            throw new IOException(s + ": the path " + abs + " leaves the root " + realRoot + " (refused)");
        }
        Path dir;
        try {
            dir = lexical.getParent().toRealPath();
        } catch (java.nio.file.FileSystemException e) {
            if (!deleted) {
                throw new IOException(s + ": the directory of " + abs + " does not exist under the root " + realRoot, e);
            }
            dir = realMissing(lexical.getParent()); // checked by DeletedName: missing, or not a directory
        }
        if (!dir.startsWith(realRoot)) {
            throw new IOException(s + ": the directory of " + abs + " resolves to " + dir + ", outside the root "
                    + realRoot + " (refused)");
        }
        Path host = dir.resolve(lexical.getFileName());
        String bindAs = realRoot.getNameCount() == 0 ? abs : host.toString();
        byte[] addr = UnixName.pathAddress(bindAs);
        if (addr == null) {
            throw new IOException(s + ": the path " + bindAs + " is longer than sun_path ("
                    + (UnixName.SUN_PATH_MAX - 1) + " bytes)");
        }
        return new SockPath(host, addr, abs);
    }

    /** True when anything (even a dangling symlink) exists at the host path. */
    boolean exists() {
        return Files.exists(host, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Makes the path free for bind, as CRIU does: a stale socket file there (no socket is bound to it any
     * more) is removed; anything else is an error. A file that is not a socket is user data, and a socket
     * file that a live socket is bound to (a running service, or another restore) is never removed: the
     * error names the path and, where /proc shows it, the pid that holds the socket.
     *
     * <p>Whether a socket is bound to the file is asked of the kernel through {@code t}: a datagram probe
     * connects to the path, which fails with ECONNREFUSED only when no socket of any type is bound to that
     * inode (a bound socket of another type gives EPROTOTYPE, a stream one that does not listen yet gives
     * a connection too). The stale file is then moved to a private name and removed only if it is still
     * the inode that was probed, so a socket bound there meanwhile by a concurrent restore is put back.
     */
    void clearStale(UnixSock s, TaskTable t) throws IOException {
        int mode;
        long ino;
        try {
            mode = (Integer) Files.getAttribute(host, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            ino = ((Number) Files.getAttribute(host, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
        } catch (NoSuchFileException e) {
            return;
        }
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(s + ": " + host + " exists and is not a socket (mode 0"
                    + Integer.toOctalString(mode) + "); refusing to replace it");
        }
        if (liveSocketAt(t)) {
            throw taken(s, null);
        }
        Path moved;
        try {
            moved = moveAside(host, "stale");
        } catch (NoSuchFileException e) {
            return; // removed meanwhile
        }
        long now = ((Number) Files.getAttribute(moved, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
        if (now != ino) {
            try {
                Files.move(moved, host);
            } catch (IOException e) {
                throw new IOException(s + ": a socket was bound at " + host + " while its stale file was removed,"
                        + " and cannot be moved back from " + moved + ": " + e.getMessage(), e);
            }
            throw new IOException(s + ": " + host + " was bound by another socket while its stale file was removed"
                    + holderOf(host) + "; refusing to take it over");
        }
        Files.delete(moved);
    }

    /** True unless a datagram connect to the path finds no socket bound to it (ECONNREFUSED, ENOENT). */
    private boolean liveSocketAt(TaskTable t) throws IOException {
        int probe;
        try {
            probe = t.socket(UnixRestorer.AF_UNIX, UnixSock.SOCK_DGRAM | UnixRestorer.SOCK_NONBLOCK, 0);
        } catch (SysException e) {
            throw new IOException("cannot make a probe socket to check " + host + ": " + e.getMessage(), e);
        }
        try {
            t.connect(probe, address);
            return true;
        } catch (SysException e) {
            return e.errno() != Errno.ECONNREFUSED && e.errno() != Errno.ENOENT;
        } finally {
            try {
                t.close(probe);
            } catch (SysException e) {
                throw new IOException("cannot close the probe socket of " + host + ": " + e.getMessage(), e);
            }
        }
    }

    /** The error for a path a live socket is bound to: it is never taken over. */
    IOException taken(Object socket, Throwable cause) {
        return new IOException(socket + ": " + host + " is the name of a live socket" + holderOf(host)
                + "; refusing to take it over (another fdrestore restore or a running service owns it)", cause);
    }

    /**
     * ", held by pid N" (or "pids N, M") for the sockets /proc/net/unix shows bound at {@code path}, whose
     * inode some /proc/PID/fd refers to; empty when none can be found (another network namespace, or
     * /proc hides them). Only called to word an error.
     */
    static String holderOf(Path path) {
        return fdrestore.api.sys.SocketHolders.ofUnixName(path.toString());
    }

    /** Moves {@code p} to a new short private name in its directory; never replaces anything. */
    static Path moveAside(Path p, String what) throws IOException {
        for (int i = 0; ; i++) {
            Path to = p.resolveSibling(".fdr-" + what + "-" + Long.toString(fdrestore.api.sys.KernelRandom.nextLong() & 0xffffffffL, 36));
            try {
                return Files.move(p, to);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i == 3) {
                    throw e;
                }
            }
        }
    }

    /** Restores the mode, owner and group the socket file had ({@code file_perms}). */
    void applyPerms(FilePermsEntry perms) throws IOException {
        if (perms == null) {
            return;
        }
        // chmod(2) by path (NOFOLLOW would open the file for fchmod, and a socket cannot be opened): the
        // last component is the socket this restore just bound.
        Files.setAttribute(host, "unix:mode", perms.getMode() & 07777);
        int uid = ((Number) Files.getAttribute(host, "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue();
        if (uid != perms.getUid()) {
            Files.setAttribute(host, "unix:uid", perms.getUid(), LinkOption.NOFOLLOW_LINKS);
        }
        int gid = ((Number) Files.getAttribute(host, "unix:gid", LinkOption.NOFOLLOW_LINKS)).intValue();
        if (gid != perms.getGid()) {
            Files.setAttribute(host, "unix:gid", perms.getGid(), LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Unlinks the socket file this plugin bound there; a file that is gone or is not a socket is left. */
    void unlink() throws IOException {
        try {
            int mode = (Integer) Files.getAttribute(host, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & S_IFMT) == S_IFSOCK) {
                Files.delete(host);
            }
        } catch (NoSuchFileException e) {
            // already gone
        }
    }
}
