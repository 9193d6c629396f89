package fdrestore.plugin.pipe;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A FIFO that was unlinked while open (criu: a GHOST remap of the FIFO's path, whose ghost-file image
 * holds only the mode). Every description of it must open one node, so the lowest file id of its users
 * (the creator) makes the node at its path under the root, opens it O_PATH for itself and for each other
 * user (handed to them), and removes the node again, on every path including failures, before any
 * real open. Each description then opens the FIFO through its O_PATH fd as any FIFO.
 */
final class GhostFifo {
    /** One ghost at a time: two ghosts of one path (unlinked, recreated, unlinked) never race. */
    static final Object LOCK = new Object();

    private static final int GHOST = 1;
    private static final int LEGACY_GHOST_BIT = 0x80000000;

    private final String path;
    private final long remapId;
    private final GhostFileEntry head;
    private final long creator;
    private final List<Long> peers;

    private GhostFifo(String path, long remapId, GhostFileEntry head, long creator, List<Long> peers) {
        this.path = path;
        this.remapId = remapId;
        this.head = head;
        this.creator = creator;
        this.peers = List.copyOf(peers);
    }

    /** The ghost of FIFO file {@code fileId} (path entry {@code regfId}), or null when its path was not unlinked. */
    static GhostFifo of(ImageSet images, long fileId, long regfId, String path, Path root) throws PlanException {
        List<RemapFilePathEntry> remaps;
        try {
            remaps = images.entries(Magic.REMAP_FPATH, RemapFilePathEntry.class);
        } catch (IOException e) {
            throw new PlanException("cannot read " + Magic.REMAP_FPATH.fileName() + ": " + e.getMessage(), e);
        }
        long remapId = ghostOf(remaps, regfId);
        if (remapId < 0) {
            return null;
        }
        String name = Magic.GHOST_FILE.fileName(remapId);
        ImageFile img;
        try {
            img = images.image(Magic.GHOST_FILE, remapId).orElseThrow(() -> new PlanException("the FIFO " + path
                    + " was unlinked at dump time and " + name + " is missing"));
        } catch (IOException e) {
            throw new PlanException("cannot read " + name + ": " + e.getMessage(), e);
        }
        if (img.size() == 0 || !(img.entry(0).message() instanceof GhostFileEntry head)
                || (head.getMode() & Linux.S_IFMT) != Linux.S_IFIFO) {
            throw new PlanException(name + " is not the ghost of a FIFO (the path " + path + " is one)");
        }
        Path target = root.resolve(relative(path)).normalize();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new PlanException("the FIFO " + path + " was unlinked at dump time, but " + target
                    + " exists; refusing to recreate it over that");
        }
        // Every description of the FIFO restored through this ghost: the lowest id creates the node for all.
        List<Long> users = new ArrayList<>();
        for (FileEntry f : images.files().values()) {
            long id = Integer.toUnsignedLong(f.getId());
            if (f.hasFifo() && f.getFifo().hasRegfId() && (id == fileId || FleInfo.defaultMaster(images, id) != null)
                    && ghostOf(remaps, Integer.toUnsignedLong(f.getFifo().getRegfId())) == remapId) {
                users.add(id);
            }
        }
        users.sort(null);
        return new GhostFifo(path, remapId, head, users.get(0), users.subList(1, users.size()));
    }

    private static long ghostOf(List<RemapFilePathEntry> remaps, long regfId) {
        for (RemapFilePathEntry r : remaps) {
            if (Integer.toUnsignedLong(r.getOrigId()) != regfId) {
                continue;
            }
            int raw = r.getRemapId();
            boolean ghost = r.hasRemapType() ? r.getRemapType() == GHOST : (raw & LEGACY_GHOST_BIT) != 0;
            return ghost ? Integer.toUnsignedLong(r.hasRemapType() ? raw : raw & ~LEGACY_GHOST_BIT) : -1;
        }
        return -1;
    }

    long creator() {
        return creator;
    }

    List<Long> peers() {
        return peers;
    }

    /**
     * Makes the node, opens it O_PATH (the fd it returns is also in {@code owned}) and once more for each
     * peer (handed to them), then removes the node; the node is gone when this returns, whatever happened.
     */
    int createAndOpen(OpenContext ctx, TaskTable t, List<Integer> owned) throws IOException, SysException {
        synchronized (LOCK) {
            Path target = target(ctx.root());
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("the FIFO " + path + " was unlinked at dump time, but " + target
                        + " exists; refusing to recreate it over that");
            }
            Exception failure = null;
            int pathFd = -1;
            boolean made = false;
            try {
                // never an open of the node (java.nio opens a file to set its attributes): it would wait
                try {
                    Sys.mkfifo(target.toString(), head.getMode() & 07777, head.getUid(), head.getGid());
                    made = true;
                } catch (SysException e) {
                    made = e.errno() != Errno.EEXIST && Files.exists(target, LinkOption.NOFOLLOW_LINKS);
                    throw e;
                }
                int rootFd = t.open(ctx.root().toString(), Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
                owned.add(rootFd);
                pathFd = t.openAt2(rootFd, path, Linux.O_PATH | Linux.O_CLOEXEC, 0, Linux.RESOLVE_IN_ROOT);
                owned.add(pathFd);
                for (long peer : peers) {
                    int p = t.openAt2(rootFd, path, Linux.O_PATH | Linux.O_CLOEXEC, 0, Linux.RESOLVE_IN_ROOT);
                    owned.add(p);
                    ctx.handOff(peer, p);
                    owned.remove(Integer.valueOf(p));
                }
            } catch (IOException | RuntimeException e) { // SysException is an IOException
                failure = e;
            }
            try {
                if (made) {
                    Files.delete(target);
                }
            } catch (IOException e) {
                IOException r = new IOException("cannot remove the recreated FIFO " + target + " (remove it by hand): "
                        + e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
            if (failure instanceof IOException i) {
                throw i;
            }
            if (failure != null) {
                throw (RuntimeException) failure;
            }
            return pathFd;
        }
    }

    /** The node's path under the real root; its directory must exist and resolve under the root. */
    private Path target(Path root) throws IOException {
        Path realRoot = root.toRealPath();
        Path p = realRoot.resolve(relative(path)).normalize();
        if (!p.startsWith(realRoot) || p.equals(realRoot) || p.getFileName() == null) {
            throw new IOException("the FIFO path " + path + " does not name a file under the root " + realRoot);
        }
        Path dir;
        try {
            dir = p.getParent().toRealPath();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("cannot recreate the unlinked FIFO " + path + ": its directory does not exist under the root "
                    + realRoot, e);
        }
        if (!dir.startsWith(realRoot)) {
            throw new IOException("the directory of the FIFO path " + path + " resolves to " + dir
                    + ", outside the root " + realRoot);
        }
        return dir.resolve(p.getFileName());
    }

    private static String relative(String name) {
        int i = 0;
        while (i < name.length() && name.charAt(i) == '/') {
            i++;
        }
        return i == name.length() ? "." : name.substring(i);
    }

    @Override
    public String toString() {
        return Magic.GHOST_FILE.fileName(remapId) + " (unlinked FIFO, mode 0" + Integer.toOctalString(head.getMode())
                + ")";
    }
}
