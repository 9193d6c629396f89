package fdrestore.plugin.regularfile;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.image.proto.Timeval;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.Linux;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The dump side of regular files: files, directories and the host character devices the restore side
 * reopens on the host (/dev/null, /dev/zero ...; terminals belong to the tty kind, fifos to the fifo kind).
 * Records the path, open flags (without O_CLOEXEC, which is the fd's), position, mount id, mode and, for
 * regular files, the size. A file unlinked while open (its link ends in " (deleted)" and it has no link
 * left) gets CRIU's GHOST remap: its content and attributes go to {@code ghost-file-ID.img}, one per inode,
 * and {@code remap-fpath.img} maps the description to it.
 */
final class RegularFileDumper {
    static final String DELETED = " (deleted)";
    /** Host devices the regular kind dumps (terminals are the tty kind's). */
    static final Set<String> DEVICES = Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");
    /** The largest deleted file whose content is copied into a ghost image. */
    static final long MAX_GHOST = 256L << 20;

    private RegularFileDumper() {
    }

    static boolean dumps(LiveFile f) {
        if (!f.isPath() || f.isMemfd()) {
            return false;
        }
        switch (f.fileType()) {
            case Linux.S_IFREG:
            case Linux.S_IFDIR:
                return true;
            case Linux.S_IFCHR:
                return DEVICES.contains(f.link());
            default:
                return false;
        }
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        FileStat st = f.stat();
        String name = f.link();
        boolean deleted = false;
        if (st.nlink() == 0 && name.endsWith(DELETED)) {
            name = name.substring(0, name.length() - DELETED.length());
            deleted = true;
        } else if (name.endsWith(DELETED) && !Files.exists(Path.of(name), LinkOption.NOFOLLOW_LINKS)) {
            throw DumpException.unsupported("regular file " + name + " was unlinked but has " + st.nlink()
                    + " other link(s) (CRIU's linked remap), which fdrestore does not dump");
        }
        if (deleted && f.fileType() != Linux.S_IFREG) {
            throw DumpException.unsupported("deleted " + (f.fileType() == Linux.S_IFDIR ? "directory " : "file ")
                    + name + ": only deleted regular files are dumped (as ghost files)");
        }
        if (!deleted && f.fileType() != Linux.S_IFCHR) {
            checkSameFile(name, st);
        }
        RegFileEntry.Builder reg = RegFileEntry.newBuilder()
                .setId((int) ctx.id())
                .setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC)
                .setPos(f.fdinfo().pos())
                .setFown(ctx.fown())
                .setName(name)
                .setMode(st.mode());
        if (f.fdinfo().mntId() >= 0) {
            reg.setMntId(f.fdinfo().mntId());
        }
        if (f.fileType() == Linux.S_IFREG) {
            reg.setSize(st.size());
        }
        if (deleted) {
            ghost(ctx, name, st);
        }
        return FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) ctx.id()).setReg(reg).build();
    }

    /** The restore opens the path: it must still name the file the fd has open. */
    private static void checkSameFile(String name, FileStat st) throws DumpException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(Path.of(name), "unix:dev,ino");
        } catch (NoSuchFileException e) {
            throw new DumpException("regular file " + name + ": its path no longer exists, but the file is not"
                    + " deleted (it was renamed, or its directory is not reachable from fdrestore's root)");
        } catch (IOException | RuntimeException e) {
            throw new DumpException("regular file " + name + ": cannot stat its path: " + e, e);
        }
        long dev = ((Number) a.get("dev")).longValue();
        long ino = ((Number) a.get("ino")).longValue();
        if (dev != st.dev() || ino != st.ino()) {
            throw new DumpException("regular file " + name + ": its path now names another file (inode " + ino
                    + ", the fd has inode " + st.ino() + "); a restore would open the wrong file");
        }
    }

    private static void ghost(DumpContext ctx, String name, FileStat st) throws DumpException {
        if (st.size() > MAX_GHOST) {
            throw DumpException.unsupported("deleted file " + name + " holds " + st.size() + " bytes, above the "
                    + MAX_GHOST + "-byte limit of a ghost image");
        }
        AtomicLong ids = ctx.memo("regular.ghost-ids", AtomicLong::new);
        long[] created = {0};
        long ghostId = ctx.memo("regular.ghost:" + st.dev() + ":" + st.ino(), () -> {
            created[0] = ids.incrementAndGet();
            return created[0];
        });
        ctx.append(Magic.REMAP_FPATH, RemapFilePathEntry.newBuilder().setOrigId((int) ctx.id())
                .setRemapId((int) ghostId).setRemapType(Remaps.GHOST).build(), null);
        if (created[0] == 0) {
            return; // another description of the same inode wrote its ghost
        }
        Path self = Path.of("/proc/self/fd/" + ctx.localFd());
        byte[] content;
        GhostFileEntry.Builder head = GhostFileEntry.newBuilder().setUid(st.uid()).setGid(st.gid())
                .setMode(st.mode()).setDev(kernelDev(st.dev())).setIno(st.ino());
        try {
            content = Files.readAllBytes(self);
            Map<String, Object> t = Files.readAttributes(self, "unix:lastAccessTime,lastModifiedTime");
            head.setAtim(timeval((FileTime) t.get("lastAccessTime")));
            head.setMtim(timeval((FileTime) t.get("lastModifiedTime")));
        } catch (IOException e) {
            throw new DumpException("deleted file " + name + ": cannot copy its content: " + e, e);
        }
        ctx.writeImage(Magic.GHOST_FILE, ghostId, List.of(new ImageEntry(head.build(), content)));
    }

    private static Timeval timeval(FileTime t) {
        long us = t.to(TimeUnit.MICROSECONDS);
        return Timeval.newBuilder().setTvSec(Math.floorDiv(us, 1_000_000L)).setTvUsec(Math.floorMod(us, 1_000_000L))
                .build();
    }

    /** glibc's dev_t as the kernel's internal encoding (major << 20 | minor), as CRIU records it. */
    static int kernelDev(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return (int) (major << 20 | minor);
    }
}
