package fdrestore.plugin.tty;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TtyDataEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.TtyPtyEntry;
import fdrestore.api.image.proto.WinsizeEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The testkit's {@link ImageSetBuilder} plus ptys, in CRIU's format: per pty a tty-info entry for the
 * master (id index*2+1, rdev 5:2) and one for the slaves (id index*2, rdev 136:index), a tty file entry
 * per open file description with the regular-file entry that names its path, and tty-data.
 */
final class PtyImageSet {
    static final int O_RDWR_LARGEFILE = 0100002;

    final ImageSetBuilder base = new ImageSetBuilder();
    private final List<FileEntry> files = new ArrayList<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final Map<Integer, TtyInfoEntry> infos = new LinkedHashMap<>();
    private final List<TtyDataEntry> data = new ArrayList<>();
    private int nextId = 5000;

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** Linux's default termios of a new pty (the v_pty sample's values). */
    static Termios defaultTermios() {
        byte[] cc = {3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0};
        return new Termios(02400, 05, 0277, 0105073, 0, cc);
    }

    static Termios zeroTermios() {
        return new Termios(0, 0, 0, 0, 0, new byte[Termios.NCCS]);
    }

    /** A tty-info entry for pty {@code index}, master or slave side, with default state. */
    static TtyInfoEntry.Builder info(int index, boolean master) {
        return TtyInfoEntry.newBuilder().setId(index * 2 + (master ? 1 : 0)).setType(Tty.TYPE_PTY).setLocked(false)
                .setExclusive(false).setPacketMode(false).setSid(0).setPgrp(0)
                .setRdev(master ? (5 << 8 | 2) : ((136 + index / 256) << 8 | index % 256))
                .setTermios(defaultTermios().toEntry()).setTermiosLocked(zeroTermios().toEntry())
                .setWinsize(WinsizeEntry.newBuilder().setWsRow(0).setWsCol(0).setWsXpixel(0).setWsYpixel(0))
                .setPty(TtyPtyEntry.newBuilder().setIndex(index)).setDev(6).setUid(0).setGid(0);
    }

    PtyImageSet task(int pid, int ppid, int pgid, int sid) {
        base.task(pid, ppid, pgid, sid);
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** Adds {@code info} (once per id) and a tty file on it named {@code path}; returns the file id. */
    long ttyFile(TtyInfoEntry info, String path, int flags) {
        infos.putIfAbsent(info.getId(), info);
        int reg = nextId++;
        int id = nextId++;
        boolean master = Tty.isPtyMaster(info.getRdev());
        files.add(FileEntry.newBuilder().setType(FdType.REG.code()).setId(reg).setReg(RegFileEntry.newBuilder().setId(reg)
                .setFlags(flags).setPos(0).setFown(fown()).setName(path).setMode(master ? 020666 : 020620)).build());
        files.add(FileEntry.newBuilder().setType(FdType.TTY.code()).setId(id).setTty(TtyFileEntry.newBuilder().setId(id)
                .setTtyInfoId(info.getId()).setFlags(flags).setFown(fown()).setRegfId(reg)).build());
        return id;
    }

    long master(TtyInfoEntry info) {
        return ttyFile(info, "/dev/ptmx", O_RDWR_LARGEFILE);
    }

    long slave(TtyInfoEntry info) {
        return ttyFile(info, "/dev/pts/" + info.getPty().getIndex(), O_RDWR_LARGEFILE);
    }

    PtyImageSet fd(int pid, int fd, long fileId) {
        return fd(pid, fd, fileId, false);
    }

    PtyImageSet fd(int pid, int fd, long fileId, boolean cloexec) {
        fds.get(pid).add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(cloexec ? 1 : 0)
                .setType(FdType.TTY.code()).setFd(fd).build());
        return this;
    }

    /** Data queued for the reader of tty-info {@code ttyInfoId}'s side. */
    PtyImageSet data(int ttyInfoId, byte[] bytes) {
        data.add(TtyDataEntry.newBuilder().setTtyId(ttyInfoId).setData(ByteString.copyFrom(bytes)).build());
        return this;
    }

    Path write(Path dir) throws IOException {
        base.write(dir);
        Path filesImg = dir.resolve(Magic.FILES.fileName());
        List<ImageEntry> fe = new ArrayList<>(ImageReader.read(filesImg, Magic.FILES).entries());
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), filesImg);
        for (Map.Entry<Integer, List<FdinfoEntry>> e : fds.entrySet()) {
            Path p = dir.resolve(Magic.FDINFO.fileName(e.getKey()));
            List<ImageEntry> fi = new ArrayList<>(ImageReader.read(p, Magic.FDINFO).entries());
            e.getValue().forEach(x -> fi.add(ImageEntry.of(x)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), p);
        }
        List<ImageEntry> ie = new ArrayList<>();
        infos.values().forEach(i -> ie.add(ImageEntry.of(i)));
        ImageWriter.write(new ImageFile(Magic.TTY_INFO, ie), dir.resolve(Magic.TTY_INFO.fileName()));
        if (!data.isEmpty()) {
            List<ImageEntry> de = new ArrayList<>();
            data.forEach(d -> de.add(ImageEntry.of(d)));
            ImageWriter.write(new ImageFile(Magic.TTY_DATA, de), dir.resolve(Magic.TTY_DATA.fileName()));
        }
        return dir;
    }

    // ---- planning helpers ---------------------------------------------------------------------------

    static PlanContext planContext(ImageSet images, Map<String, String> options) {
        return TestPlanContext.of(images).options(options);
    }

    /** Every file of the image set of {@code type} that an fd refers to, as the engine would plan it. */
    static List<FileInfo> filesOfType(ImageSet images, FdType type) {
        List<FileInfo> out = new ArrayList<>();
        images.sharers().forEach((id, refs) -> {
            if (refs.isEmpty() || refs.get(0).fd().type() != type) {
                return;
            }
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : refs) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            out.add(new FileInfo(id, type, images.file(id).orElseThrow(), fles));
        });
        return out;
    }
}
