package fdrestore.plugin.unixsocket;

import fdrestore.api.spi.Journal;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A path name that was deleted after bind (criu's {@code deleted}), bound again for as long as the restore
 * needs it. The socket must carry its exact name (getsockname), and peers must still reach it, but the
 * path must end up as the images found it: absent, or taken by another file.
 *
 * <p>{@link #bind}: the directories missing under the root are made (mode 0700), a file that sits at the
 * path now (a fifo made over the old name, say) is moved aside within its directory, the socket binds its
 * name and gets its permissions, then its file is moved to a short private name in the same directory
 * (the <i>reach</i> path, which connecting peers use: connect() finds the socket by its inode, and the
 * peer still sees the original name), and the user's file is moved back at once. {@link #release} removes
 * the reach file and exactly the directories this restore made, once the peers are connected, and on
 * every failure path. The user's file is only renamed (never copied, truncated or replaced): moves never
 * replace an existing name.
 *
 * <p>Every file system step is made under one JVM-wide lock, so that two deleted names of one restore
 * that share a missing directory neither make it twice nor remove it while the other still needs it
 * (directories are reference counted).
 */
final class DeletedName {
    private static final Object LOCK = new Object();
    /** Directories made by deleted names of this JVM, with the number of names that still need them. */
    private static final Map<Path, Integer> MADE = new HashMap<>();

    private final UnixSock sock;
    private final SockPath at;
    /** Directories this name holds a reference on, outermost first. */
    private final List<Path> dirs;
    private final Journal journal;
    private Path reach;
    private byte[] reachAddress;

    private DeletedName(UnixSock sock, SockPath at, List<Path> dirs, Journal journal) {
        this.sock = sock;
        this.at = at;
        this.dirs = dirs;
        this.journal = journal;
    }

    /** The address peers connect or send to: the socket file's private name while the restore runs. */
    byte[] reachAddress() {
        return reachAddress;
    }

    /**
     * Binds {@code fd} (a socket of {@code t}) to the deleted path name {@code nameOf} carries under
     * {@code root}; {@code perms} says whether to apply the image's file permissions. On failure nothing
     * is left: no directory, no socket file, the user's file at its place. What it makes is recorded in
     * {@code journal} first.
     */
    static DeletedName bind(Path root, UnixSock nameOf, TaskTable t, int fd, boolean perms, Journal journal)
            throws IOException {
        synchronized (LOCK) {
            SockPath at = SockPath.ofDeleted(root, nameOf);
            List<Path> dirs = makeDirs(nameOf, at, journal);
            DeletedName d = new DeletedName(nameOf, at, dirs, journal);
            boolean ok = false;
            try {
                d.bindLocked(t, fd, perms);
                ok = true;
                return d;
            } finally {
                if (!ok) {
                    d.releaseLocked(null);
                }
            }
        }
    }

    /**
     * The missing directories of the name's path, made now (outermost first), plus those of the existing
     * ones that another deleted name of this JVM made and still holds.
     */
    private static List<Path> makeDirs(UnixSock s, SockPath at, Journal journal) throws IOException {
        List<Path> missing = new ArrayList<>();
        Path p = at.host().getParent();
        while (p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            missing.add(0, p);
            p = p.getParent();
        }
        if (p == null || !Files.isDirectory(p)) {
            throw new IOException(s + ": cannot bind its deleted name " + at.imagePath() + ": " + p
                    + " exists and is not a directory (nothing was created)");
        }
        List<Path> held = new ArrayList<>();
        for (Path q = p; q != null; q = q.getParent()) {
            if (MADE.containsKey(q)) {
                held.add(0, q);
            }
        }
        for (Path q : held) {
            MADE.merge(q, 1, Integer::sum);
        }
        try {
            for (Path q : missing) {
                journal.making(Journal.Entry.DIRECTORY, q);
                try {
                    Files.createDirectory(q, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (IOException e) {
                    journal.gone(q);
                    throw e;
                }
                MADE.put(q, 1);
                held.add(q);
                journal.made(Journal.Entry.DIRECTORY, q);
            }
        } catch (IOException e) {
            dropDirs(held, e, journal);
            throw new IOException(s + ": cannot make the directories of its deleted name " + at.imagePath() + ": "
                    + e.getMessage(), e);
        }
        return held;
    }

    private void bindLocked(TaskTable t, int fd, boolean perms) throws IOException {
        Path host = at.host();
        Path parked = null;
        if (Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
            parked = SockPath.moveAside(host, "park");
        }
        IOException failure = null;
        try {
            journal.making(Journal.Entry.SOCKET, host);
            try {
                t.bind(fd, at.address());
            } catch (SysException e) {
                journal.gone(host);
                throw new IOException(sock + ": cannot bind its deleted name " + at.imagePath() + ": " + e.getMessage(), e);
            }
            journal.made(Journal.Entry.SOCKET, host);
            try {
                if (perms) {
                    at.applyPerms(sock.perms());
                }
            } finally {
                try {
                    reach = SockPath.moveAside(host, "sk");
                } catch (IOException e) {
                    at.unlink(); // it cannot be moved: the socket file goes now, so the user's file can come back
                    journal.gone(host);
                    throw new IOException(sock + ": cannot move the socket file of its deleted name aside: "
                            + e.getMessage(), e);
                }
                // moved: the same inode under its private name (known only now), and nothing at the name
                journal.making(Journal.Entry.SOCKET, reach);
                journal.made(Journal.Entry.SOCKET, reach);
                journal.gone(host);
            }
            reachAddress = UnixName.pathAddress(reach.toString());
            if (reachAddress == null) {
                throw new IOException(sock + ": the private name " + reach + " of its deleted name is longer than sun_path");
            }
        } catch (IOException e) {
            failure = e;
            throw e;
        } finally {
            if (parked != null) {
                try {
                    Files.move(parked, host);
                } catch (IOException e) {
                    IOException back = new IOException(sock + ": cannot move " + parked + " back to " + host
                            + " (it is there, not lost): " + e.getMessage(), e);
                    if (failure != null) {
                        failure.addSuppressed(back);
                    } else {
                        throw back;
                    }
                }
            }
        }
    }

    /** Removes the reach file and the directories made for this name; idempotent. */
    void release() throws IOException {
        synchronized (LOCK) {
            IOException first = new IOException(sock + ": cannot clean up its deleted name " + at.imagePath());
            releaseLocked(first);
            if (first.getSuppressed().length > 0) {
                throw first;
            }
        }
    }

    private void releaseLocked(Throwable errors) {
        if (reach != null) {
            try {
                new SockPath(reach, reachAddress, at.imagePath()).unlink();
                journal.gone(reach);
            } catch (IOException e) {
                if (errors != null) {
                    errors.addSuppressed(e);
                }
            }
            reach = null;
        }
        dropDirs(dirs, errors, journal);
    }

    /** Drops one reference on each directory, innermost first; removes those nobody needs any more. */
    private static void dropDirs(List<Path> dirs, Throwable errors, Journal journal) {
        for (int i = dirs.size() - 1; i >= 0; i--) {
            Path q = dirs.get(i);
            Integer n = MADE.get(q);
            if (n == null) {
                continue;
            }
            if (n > 1) {
                MADE.put(q, n - 1);
                continue;
            }
            MADE.remove(q);
            try {
                Files.delete(q);
                journal.gone(q);
            } catch (NoSuchFileException e) {
                journal.gone(q); // gone already
            } catch (IOException e) {
                if (errors != null) {
                    errors.addSuppressed(new IOException("cannot remove the directory " + q + " made for a deleted name: "
                            + e, e));
                }
            }
        }
        dirs.clear();
    }

    @Override
    public String toString() {
        return at.imagePath() + (reach != null ? " (reached at " + reach + ")" : "");
    }
}
