package fdrestore.plugin.unixsocket;

import fdrestore.core.image.proto.FilePermsEntry;
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
     * Makes the path free for bind, as CRIU does: a stale socket file there is unlinked; anything else is
     * an error (user data is never deleted).
     */
    void clearStale(UnixSock s) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(host, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(s + ": " + host + " exists and is not a socket (mode 0"
                    + Integer.toOctalString(mode) + "); refusing to replace it");
        }
        Files.delete(host);
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
