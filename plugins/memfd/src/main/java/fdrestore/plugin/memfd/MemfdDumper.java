package fdrestore.plugin.memfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.MemfdFileEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PagemapHead;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dump side of memfd, in criu's images: a MemfdFileEntry per description (flags, position, owner,
 * inode id); once per inode, its MemfdInodeEntry in memfd.img (name, size, owner, mode, seals) and its
 * contents as criu writes shared memory: {@code pagemap-shmem-<shmid>.img} (the shmid is the inode number)
 * with a run for each stretch of pages that hold anything but zeros, and those pages in
 * {@code pages-<id>.img}. The contents are read through a new description (pread), so no position moves.
 * A memfd above {@link MemfdKind#MAX_SIZE} is refused.
 */
final class MemfdDumper {
    static final int O_CLOEXEC = 02000000;
    static final int O_RDONLY = 0;
    static final int F_GET_SEALS = 1034;
    static final int PAGE = (int) Contents.PAGE;

    private MemfdDumper() {
    }

    /** What the dump knows of the inodes it has written: inode number to inode id. */
    static final class Inodes {
        final Map<Long, Long> ids = new HashMap<>();
        long nextPages = 1;
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        String link = f.link();
        String name = link.substring("/memfd:".length(), link.length() - " (deleted)".length());
        long ino = f.stat().ino();
        String what = "memfd \"" + name + "\" (inode " + ino + ")";
        Inodes known = ctx.memo("memfd.inodes", Inodes::new);
        Long inodeId;
        synchronized (known) {
            inodeId = known.ids.get(ino);
            if (inodeId == null) {
                inodeId = (long) known.ids.size() + 1;
                writeInode(ctx, known, inodeId, name, what);
                known.ids.put(ino, inodeId);
            }
        }
        MemfdFileEntry e = MemfdFileEntry.newBuilder().setId((int) ctx.id()).setFlags(f.fdinfo().flags() & ~O_CLOEXEC)
                .setPos(f.fdinfo().pos()).setFown(ctx.fown()).setInodeId((int) (long) inodeId).build();
        return FileEntry.newBuilder().setType(FdType.MEMFD.code()).setId((int) ctx.id()).setMemfd(e).build();
    }

    private static void writeInode(DumpContext ctx, Inodes known, long inodeId, String name, String what)
            throws DumpException {
        LiveFile f = ctx.file();
        long size = f.stat().size();
        if (size > MemfdKind.MAX_SIZE) {
            throw DumpException.unsupported(what + ": " + size + " bytes, above the " + MemfdKind.MAX_SIZE
                    + " fdrestore dumps");
        }
        int shmid = (int) f.stat().ino();
        try {
            int seals = (int) Syscalls.local("fcntl", ctx.localFd(), F_GET_SEALS, 0);
            int rd = ctx.reopen(O_RDONLY);
            List<ImageEntry> map = new ArrayList<>();
            long pagesId = known.nextPages++;
            map.add(ImageEntry.of(PagemapHead.newBuilder().setPagesId((int) pagesId).build()));
            ByteArrayOutputStream pages = new ByteArrayOutputStream();
            byte[] page = new byte[PAGE];
            long runStart = -1;
            long runPages = 0;
            for (long off = 0; off < size; off += PAGE) {
                java.util.Arrays.fill(page, (byte) 0);
                int want = (int) Math.min(PAGE, size - off);
                for (int got = 0; got < want;) {
                    byte[] part = got == 0 ? page : new byte[want - got];
                    long n = Syscalls.local("pread64", rd, part, want - got, off + got);
                    if (n <= 0) {
                        throw new DumpException(what + ": its contents end at " + (off + got) + " of " + size + " bytes");
                    }
                    if (part != page) {
                        System.arraycopy(part, 0, page, got, (int) n);
                    }
                    got += (int) n;
                }
                boolean zero = true;
                for (int i = 0; i < want && zero; i++) {
                    zero = page[i] == 0;
                }
                if (zero) {
                    if (runPages > 0) {
                        map.add(ImageEntry.of(run(runStart, runPages)));
                        runPages = 0;
                    }
                    continue;
                }
                if (runPages == 0) {
                    runStart = off;
                }
                runPages++;
                pages.write(page, 0, PAGE);
            }
            if (runPages > 0) {
                map.add(ImageEntry.of(run(runStart, runPages)));
            }
            MemfdInodeEntry ie = MemfdInodeEntry.newBuilder().setName(name).setUid(f.stat().uid())
                    .setGid(f.stat().gid()).setSize(size).setShmid(shmid).setSeals(seals).setInodeId(inodeId)
                    .setMode(f.stat().mode()).build();
            ctx.append(Magic.MEMFD_INODE, ie, null);
            ctx.writeImage(Magic.SHMEM_PAGEMAP, Integer.toUnsignedLong(shmid), map);
            ctx.writePages(pagesId, pages.toByteArray());
        } catch (SysException x) {
            throw new DumpException(what + ": " + x.getMessage(), x);
        }
    }

    private static PagemapEntry run(long start, long pages) {
        return PagemapEntry.newBuilder().setVaddr(start).setCompatNrPages(0).setFlags(Contents.PE_PRESENT)
                .setNrPages(pages).build();
    }
}
