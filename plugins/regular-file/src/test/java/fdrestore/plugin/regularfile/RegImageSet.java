package fdrestore.plugin.regularfile;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.testkit.ImageSetBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The testkit's {@link ImageSetBuilder} (tasks) plus regular files with every field of their entry (size,
 * mode, owner), remaps and ghost images, in CRIU's format. Entries are built with {@link Fixtures#reg}.
 */
final class RegImageSet {
    private final ImageSetBuilder base = new ImageSetBuilder();
    private final List<RegFileEntry> regs = new ArrayList<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final List<RemapFilePathEntry> remaps = new ArrayList<>();
    private final Map<Long, ImageFile> ghosts = new LinkedHashMap<>();

    RegImageSet task(int pid, int ppid) {
        base.task(pid, ppid);
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** Adds a regular file (with or without fds); returns its file id. */
    long file(RegFileEntry reg) {
        regs.add(reg);
        return Integer.toUnsignedLong(reg.getId());
    }

    RegImageSet remap(RemapFilePathEntry remap) {
        remaps.add(remap);
        return this;
    }

    /** ghost-file-{@code id}.img. */
    RegImageSet ghost(long id, ImageFile image) {
        ghosts.put(id, image);
        return this;
    }

    RegImageSet fd(int pid, int fd, long fileId) {
        return fd(pid, fd, fileId, false);
    }

    RegImageSet fd(int pid, int fd, long fileId, boolean cloexec) {
        fds.get(pid).add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(cloexec ? 1 : 0)
                .setType(FdType.REG.code()).setFd(fd).build());
        return this;
    }

    Path write(Path dir) throws IOException {
        base.write(dir);
        Path filesImg = dir.resolve(Magic.FILES.fileName());
        List<ImageEntry> fe = new ArrayList<>(ImageReader.read(filesImg, Magic.FILES).entries());
        regs.forEach(r -> fe.add(ImageEntry.of(Fixtures.file(r))));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), filesImg);
        for (Map.Entry<Integer, List<FdinfoEntry>> e : fds.entrySet()) {
            Path p = dir.resolve(Magic.FDINFO.fileName(e.getKey()));
            List<ImageEntry> fi = new ArrayList<>(ImageReader.read(p, Magic.FDINFO).entries());
            e.getValue().forEach(x -> fi.add(ImageEntry.of(x)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), p);
        }
        if (!remaps.isEmpty()) {
            List<ImageEntry> re = new ArrayList<>();
            remaps.forEach(r -> re.add(ImageEntry.of(r)));
            ImageWriter.write(new ImageFile(Magic.REMAP_FPATH, re), dir.resolve(Magic.REMAP_FPATH.fileName()));
        }
        for (Map.Entry<Long, ImageFile> g : ghosts.entrySet()) {
            ImageWriter.write(g.getValue(), dir.resolve(Magic.GHOST_FILE.fileName(g.getKey())));
        }
        return dir;
    }
}
