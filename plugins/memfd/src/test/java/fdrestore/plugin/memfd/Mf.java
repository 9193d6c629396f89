package fdrestore.plugin.memfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.MemfdFileEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PagemapHead;
import fdrestore.testkit.ImageSetBuilder;

/** memfd images for the tests, shaped like criu 4.2's (zdtm memfd00: memfd.img, pagemap-shmem-N.img, pages-N.img). */
final class Mf {
    private Mf() {
    }

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    static MemfdInodeEntry.Builder inode(long inodeId, String name, long size, int shmid) {
        return MemfdInodeEntry.newBuilder().setName(name).setUid(0).setGid(0).setSize(size).setShmid(shmid)
                .setSeals(1).setInodeId(inodeId).setMode(0100777);
    }

    static long file(ImageSetBuilder b, int flags, long pos, long inodeId) {
        return b.file(id -> FileEntry.newBuilder().setType(FdType.MEMFD.code()).setId(id)
                .setMemfd(MemfdFileEntry.newBuilder().setId(id).setFlags(flags).setPos(pos).setFown(fown())
                        .setInodeId((int) inodeId))
                .build());
    }

    static void inodes(ImageSetBuilder b, MemfdInodeEntry... inodes) {
        for (MemfdInodeEntry i : inodes) {
            b.entry(Magic.MEMFD_INODE, i);
        }
    }

    /** pagemap-shmem-{shmid}.img naming pages-{pagesId}.img, with runs {offset, pages} (PE_PRESENT), and the pages. */
    static void contents(ImageSetBuilder b, int shmid, int pagesId, long[][] runs, byte[] pages) {
        b.entry(Magic.SHMEM_PAGEMAP, shmid, PagemapHead.newBuilder().setPagesId(pagesId).build(), null);
        for (long[] r : runs) {
            b.entry(Magic.SHMEM_PAGEMAP, shmid, PagemapEntry.newBuilder().setVaddr(r[0]).setCompatNrPages(0).setFlags(4)
                    .setNrPages(r[1]).build(), null);
        }
        b.raw("pages-" + pagesId + ".img", pages);
    }

    /** {@code n} pages, page i filled with byte 'a' + i. */
    static byte[] pages(int n) {
        byte[] p = new byte[n * 4096];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) ('a' + i / 4096);
        }
        return p;
    }
}
