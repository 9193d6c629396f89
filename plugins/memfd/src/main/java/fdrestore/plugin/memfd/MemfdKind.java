package fdrestore.plugin.memfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.MemfdFileEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of memfd files ({@code FdType.MEMFD}: {@code MemfdFileEntry} in files.img, its inode in
 * memfd.img, the contents in pagemap-shmem-<shmid>.img and pages-<id>.img).
 *
 * <p>Checked at plan time, before any syscall: the inode exists; its name fits memfd_create (at most 249
 * bytes, no NUL); its size is at most {@link #MAX_SIZE} (or {@code --plugin-option memfd.max-size=BYTES}); the seals are
 * known F_SEAL_* bits; the mode is a regular file's; a hugetlb memfd (whose contents cannot be written with
 * write(2)) is refused; every page run lies within the size and the pages image; the file flags are an
 * open's without O_CREAT, O_TRUNC and the like; the position is not negative. Files of one inode share it,
 * in whichever tasks they are.
 */
@Extension
public final class MemfdKind implements FileKind, FileDumper {
    /** The option that raises (or lowers) the largest memfd restored, in bytes. */
    public static final String MAX_SIZE_OPTION = "memfd.max-size";
    /** The largest memfd restored by default: 1 GiB. */
    static final long MAX_SIZE = 1L << 30;
    /** NAME_MAX - strlen("memfd:"). */
    static final int MAX_NAME = 249;
    static final int KNOWN_SEALS = 0x3f; // SEAL, SHRINK, GROW, WRITE, FUTURE_WRITE, EXEC
    static final int S_IFMT = 0170000;
    static final int S_IFREG = 0100000;
    /** The file flags a memfd's description may have: access mode, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_LARGEFILE, O_NOATIME, O_SYNC. */
    static final int FLAGS = 3 | 02000 | 04000 | 010000 | 020000 | 0100000 | 01000000 | 04000000;

    /** The plugin option this kind reads (restore --plugin-option KEY=VALUE). */
    @Override
    public Set<String> options() {
        return Set.of(MAX_SIZE_OPTION);
    }

    @Override
    public String name() {
        return "memfd";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.MEMFD);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return file.isMemfd();
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return MemfdDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        String what = "memfd file " + file.id();
        if (!file.entry().hasMemfd()) {
            throw new PlanException(what + ": files.img has no memfd entry for it");
        }
        MemfdFileEntry e = file.entry().getMemfd();
        if ((e.getFlags() & ~FLAGS) != 0 || (e.getFlags() & 3) == 3) {
            throw new PlanException(what + ": flags 0" + Integer.toOctalString(e.getFlags())
                    + " are not a memfd description's (access mode, O_APPEND, O_NONBLOCK, O_LARGEFILE ...)");
        }
        if (e.getPos() < 0) {
            throw new PlanException(what + ": pos " + Long.toUnsignedString(e.getPos()) + " is negative as an offset");
        }
        if (e.getFown().getPid() != 0) {
            throw new PlanException(what + ": its owner (F_SETOWN, pid " + e.getFown().getPid()
                    + ") cannot be restored: restored pids are chosen after the fds are restored");
        }
        long max = maxSize(ctx);
        Inode inode;
        // The inodes of this restore, shared by its files' restorers.
        Map<Long, Inode> mine = ctx.memo(Inode.class, HashMap::new);
        synchronized (mine) {
            long key = Integer.toUnsignedLong(e.getInodeId());
            inode = mine.get(key);
            if (inode == null) {
                MemfdInodeEntry ie = inodeEntry(ctx.images(), key, what);
                checkInode(ie, max, what);
                Contents c = Contents.of(ctx.images(), Integer.toUnsignedLong(ie.getShmid()), ie.getSize(),
                        what + " (inode " + key + ")");
                inode = new Inode(ie, c, () -> {
                    synchronized (mine) {
                        mine.remove(key);
                    }
                });
                mine.put(key, inode);
            }
            inode.use();
        }
        return new MemfdRestorer(file.id(), e, inode);
    }

    private static long maxSize(PlanContext ctx) throws PlanException {
        String v = ctx.option(MAX_SIZE_OPTION);
        if (v == null) {
            return MAX_SIZE;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException x) {
            throw new PlanException("option " + MAX_SIZE_OPTION + "=" + v + " is not a byte count");
        }
    }

    private static MemfdInodeEntry inodeEntry(ImageSet images, long inodeId, String what) throws PlanException {
        try {
            for (MemfdInodeEntry ie : images.entries(Magic.MEMFD_INODE, MemfdInodeEntry.class)) {
                if (ie.getInodeId() == inodeId) {
                    return ie;
                }
            }
        } catch (IOException x) {
            throw new PlanException(what + ": memfd.img: " + x.getMessage(), x);
        }
        throw new PlanException(what + ": inode_id " + inodeId + " is not in memfd.img");
    }

    static void checkInode(MemfdInodeEntry ie, long max, String what) throws PlanException {
        String w = what + " (inode " + Long.toUnsignedString(ie.getInodeId()) + ")";
        byte[] name = ie.getName().getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_NAME || ie.getName().indexOf('\0') >= 0) {
            throw new PlanException(w + ": name of " + name.length + " bytes is not one memfd_create takes (at most "
                    + MAX_NAME + ", no NUL)");
        }
        if (ie.getSize() < 0 || ie.getSize() > max) {
            throw new PlanException(w + ": size " + Long.toUnsignedString(ie.getSize()) + " bytes is above the "
                    + max + " fdrestore restores (option " + MAX_SIZE_OPTION + ")");
        }
        if ((ie.getSeals() & ~KNOWN_SEALS) != 0) {
            throw new PlanException(w + ": seals 0x" + Integer.toHexString(ie.getSeals()) + " has bits no F_SEAL_* names");
        }
        if (ie.hasMode() && (ie.getMode() & S_IFMT) != S_IFREG && (ie.getMode() & S_IFMT) != 0) {
            throw new PlanException(w + ": mode 0" + Integer.toOctalString(ie.getMode()) + " is not a regular file's");
        }
        if (ie.hasHugetlbFlag() && ie.getHugetlbFlag() != 0) {
            throw new PlanException(w + ": a hugetlb memfd (hugetlb_flag 0x" + Integer.toHexString(ie.getHugetlbFlag())
                    + "), whose contents fdrestore cannot write");
        }
    }
}
