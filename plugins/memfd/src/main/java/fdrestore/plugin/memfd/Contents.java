package fdrestore.plugin.memfd;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PagemapHead;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a memfd's contents are in the images: {@code pagemap-shmem-<shmid>.img} lists runs of pages (the
 * byte offset in the file, the page count) and names {@code pages-<pages_id>.img}, which holds the pages of
 * the PE_PRESENT runs one after the other. Pages no run names are holes (zero). Checked at plan time
 * against the file's size and the pages image's length, so a hostile image cannot make the restore write
 * past either.
 */
record Contents(Path pages, List<Run> runs) {
    static final long PAGE = 4096;
    static final int PE_PARENT = 1;
    static final int PE_LAZY = 2;
    static final int PE_PRESENT = 4;

    /** {@code length} bytes at {@code fileOffset} of the memfd come from {@code pagesOffset} of the pages image. */
    record Run(long fileOffset, long pagesOffset, long length) {
    }

    static Contents none() {
        return new Contents(null, List.of());
    }

    static Contents of(ImageSet images, long shmid, long size, String what) throws PlanException {
        String name = Magic.SHMEM_PAGEMAP.fileName(shmid);
        Optional<ImageFile> f;
        try {
            f = images.image(Magic.SHMEM_PAGEMAP, shmid);
        } catch (IOException e) {
            throw new PlanException(what + ": " + name + ": " + e.getMessage(), e);
        }
        if (f.isEmpty()) {
            if (size == 0) {
                return none();
            }
            throw new PlanException(what + ": its contents (" + size + " bytes) need " + name
                    + ", which the image set does not have");
        }
        ImageFile pm = f.get();
        if (pm.size() == 0) {
            throw new PlanException(what + ": " + name + " has no head entry");
        }
        long pagesId = Integer.toUnsignedLong(((PagemapHead) pm.entry(0).message()).getPagesId());
        Path pages = images.dir().resolve("pages-" + pagesId + ".img");
        long limit = (size + PAGE - 1) / PAGE * PAGE;
        List<Run> runs = new ArrayList<>();
        long at = 0;
        for (int i = 1; i < pm.size(); i++) {
            PagemapEntry e = (PagemapEntry) pm.entry(i).message();
            String where = name + " entry " + i;
            int flags = e.hasFlags() ? e.getFlags() : PE_PRESENT;
            long nr = e.hasNrPages() ? e.getNrPages() : Integer.toUnsignedLong(e.getCompatNrPages());
            if ((e.hasInParent() && e.getInParent()) || (flags & PE_PARENT) != 0) {
                throw new PlanException(what + ": " + where + ": pages in a parent image set (incremental dumps"
                        + " are not restored)");
            }
            if ((flags & PE_PRESENT) == 0) {
                throw new PlanException(what + ": " + where + ": flags 0x" + Integer.toHexString(flags)
                        + " name pages that are not in the pages image (lazy pages are not restored)");
            }
            long off = e.getVaddr();
            if (off < 0 || off % PAGE != 0 || nr < 0 || nr > limit / PAGE || off > limit - nr * PAGE) {
                throw new PlanException(what + ": " + where + ": " + nr + " pages at offset 0x" + Long.toHexString(off)
                        + " do not lie within the file's " + size + " bytes (field size)");
            }
            runs.add(new Run(off, at, nr * PAGE));
            at += nr * PAGE;
        }
        if (at > 0) {
            long have;
            try {
                have = Files.size(pages);
            } catch (IOException e) {
                throw new PlanException(what + ": " + name + " names " + pages.getFileName() + ", which cannot be read: "
                        + e.getMessage(), e);
            }
            if (have < at) {
                throw new PlanException(what + ": " + name + " announces " + at + " bytes of pages, but "
                        + pages.getFileName() + " has " + have);
            }
        }
        return new Contents(pages, runs);
    }
}
