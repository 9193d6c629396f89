package fdrestore.plugin.regularfile;

import fdrestore.api.spi.Journal;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.regularfile.RegularFileRestorer.Peer;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * The two opens of a file deleted at dump time that make a name under the root for the open and remove it
 * again: a ghost recreated from the images ({@link #openGhost}) and a linked remap ({@link #openLinked}).
 * Each holds {@link GhostFile#LOCK} and journals the name while it exists.
 */
final class RemapOpen {
    private RemapOpen() {
    }

    /**
     * Creates the ghost at its path under the root, opens it (and a description for every peer, handed to
     * them), then unlinks it: on every path, including failures, the created file is gone when this returns.
     */
    static int openGhost(OpenContext ctx, GhostFile ghost, String name, int flags, List<Peer> peers, String what)
            throws IOException, SysException, RegularFileException {
        TaskTable t = ctx.table();
        synchronized (GhostFile.LOCK) {
            Path target = RegularFileRestorer.ghostTarget(ctx.root(), name);
            Journal journal = ctx.journal();
            Journal.Entry entry = ghost.directory() ? Journal.Entry.DIRECTORY : Journal.Entry.FILE;
            journal.making(entry, target);
            try {
                ghost.create(target);
            } catch (IOException | RuntimeException e) {
                journal.gone(target); // create removes what it made, and never touches what was there
                throw e;
            }
            journal.made(entry, target);
            int fd = -1;
            Exception failure = null;
            try {
                fd = RegularFileRestorer.openInRoot(t, ctx.root(), name, flags);
                for (Peer p : peers) {
                    int pfd = RegularFileRestorer.openInRoot(t, ctx.root(), name, p.flags());
                    ctx.handOff(p.fileId(), pfd);
                }
            } catch (SysException | RuntimeException e) {
                failure = e;
            }
            try {
                GhostFile.remove(target);
                journal.gone(target);
            } catch (IOException e) {
                RegularFileException r = new RegularFileException(what + ": cannot unlink the recreated ghost "
                        + target + " (remove it by hand): " + e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
            if (failure != null) {
                if (fd >= 0) {
                    try {
                        t.close(fd);
                    } catch (SysException c) {
                        failure.addSuppressed(c);
                    }
                }
                if (failure instanceof SysException s) {
                    throw s;
                }
                if (failure instanceof RegularFileException r) {
                    throw r;
                }
                throw (RuntimeException) failure;
            }
            return fd;
        }
    }

    /**
     * A linked remap: links the original name to the link file criu made, opens it (O_PATH) by that name,
     * then removes that name again, so that the fd reads {@code "<name> (deleted)"} as it did. The link
     * file stays (a restore never removes a user's file, and the images may be restored again). On every
     * path, including failures, the name this made is gone when this returns.
     */
    static int openLinked(OpenContext ctx, String name, String openName, int firstFlags, String what)
            throws IOException, SysException, RegularFileException {
        TaskTable t = ctx.table();
        synchronized (GhostFile.LOCK) {
            Path target = RegularFileRestorer.ghostTarget(ctx.root(), name);
            Path link = RegularFileRestorer.ghostTarget(ctx.root(), openName);
            if (!Files.isRegularFile(link, LinkOption.NOFOLLOW_LINKS)) {
                throw new RegularFileException(what + ": the link file " + link + " is missing or not a regular file");
            }
            Journal journal = ctx.journal();
            journal.making(Journal.Entry.FILE, target);
            try {
                Files.createLink(target, link); // link(2): never replaces what is at target
            } catch (FileAlreadyExistsException e) {
                journal.gone(target);
                throw new RegularFileException(what + ": it was deleted at dump time, but " + target
                        + " exists; refusing to link the remap over it");
            } catch (IOException | RuntimeException e) {
                journal.gone(target);
                throw e;
            }
            journal.made(Journal.Entry.FILE, target);
            int fd;
            try {
                fd = RegularFileRestorer.openInRoot(t, ctx.root(), name, firstFlags);
            } catch (SysException | RuntimeException e) {
                removeMade(target, e);
                journal.gone(target);
                throw e;
            }
            try {
                Files.delete(target);
                journal.gone(target);
            } catch (IOException e) {
                try {
                    t.close(fd);
                } catch (SysException c) {
                    e.addSuppressed(c);
                }
                throw new RegularFileException(what + ": cannot remove the name " + target
                        + " it linked for the open (remove it by hand): " + e.getMessage(), e);
            }
            return fd;
        }
    }

    private static void removeMade(Path made, Exception failure) {
        try {
            Files.deleteIfExists(made);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }
}
