package fdrestore.testkit;

import com.google.protobuf.TextFormat;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A canonical text of an image set that two dumps of the same tree share even when the kernel gave the
 * tree other pids, inodes and file ids: the round-trip check {@code dump -> restore -> dump} compares two
 * of them. Pids become T1, T2 ... (pstree order; a pid outside the tree is "ext"); file ids F1, F2 ...
 * (order of first use by an fd); pipe and socket inodes I1, I2 ...; queued data and ghost content are shown
 * by length and SHA-256. Left out, as state the fd restore does not reproduce: a running timer's time left
 * (shown as armed or not), the tree's cwd and root (fs-*.img), fdr-task.img (argv, env, cwd: a restore
 * with --hold runs holders), the task flags, personality and signal mask, and ghost times and inodes.
 */
public final class ImageSetText {
    private final ImageSet images;
    private final Map<Integer, String> pids = new HashMap<>();
    private final Map<Long, String> fileLabels = new LinkedHashMap<>();
    private final Map<Long, String> inodes = new HashMap<>();
    private final List<String> out = new ArrayList<>();

    private ImageSetText(ImageSet images) {
        this.images = images;
    }

    /** The canonical lines of the image set in {@code dir}. */
    public static List<String> of(java.nio.file.Path dir) throws IOException {
        return new ImageSetText(ImageSet.open(dir)).render();
    }

    private String pid(int pid) {
        if (pid == 0) {
            return "0";
        }
        return pids.getOrDefault(pid, "ext");
    }

    private String file(long id) {
        return fileLabels.computeIfAbsent(id, k -> "F" + (fileLabels.size() + 1));
    }

    private String inode(long ino) {
        return inodes.computeIfAbsent(ino, k -> "I" + (inodes.size() + 1));
    }

    private List<String> render() throws IOException {
        int n = 0;
        for (ImageSet.Task t : images.tasks()) {
            pids.put(t.pid(), "T" + (++n));
        }
        Map<Long, String> tables = new HashMap<>();
        for (ImageSet.Task t : images.tasks()) {
            String table = tables.computeIfAbsent(t.filesId(), k -> "table" + (tables.size() + 1));
            out.add("task " + pid(t.pid()) + " ppid " + pid(t.ppid()) + " pgid " + pid(t.pgid()) + " sid "
                    + pid(t.sid()) + " threads " + t.threads().size() + " comm " + t.comm() + " " + table);
            for (ImageSet.Fd fd : t.fds()) {
                out.add("  fd " + fd.fd() + " " + file(fd.fileId()) + (fd.cloexec() ? " cloexec" : "") + " "
                        + (fd.type() != null ? fd.type().name() : "type " + fd.rawType()));
            }
        }
        Map<Long, RemapFilePathEntry> remaps = new HashMap<>();
        for (RemapFilePathEntry r : images.entries(Magic.REMAP_FPATH, RemapFilePathEntry.class)) {
            remaps.put(Integer.toUnsignedLong(r.getOrigId()), r);
        }
        for (Map.Entry<Long, String> e : new ArrayList<>(fileLabels.entrySet())) {
            Optional<FileEntry> f = images.file(e.getKey());
            out.add(e.getValue() + " " + (f.isPresent() ? render(f.get(), remaps) : "missing"));
        }
        data(Magic.PIPES_DATA, "pipe-data");
        data(Magic.FIFO_DATA, "fifo-data");
        return out;
    }

    private String render(FileEntry f, Map<Long, RemapFilePathEntry> remaps) throws IOException {
        FileEntry.Builder b = f.toBuilder().clearId();
        String extra = "";
        if (b.hasReg()) {
            b.getRegBuilder().clearId();
            RemapFilePathEntry r = remaps.get(Integer.toUnsignedLong(f.getId()));
            if (r != null) {
                extra = " remap " + r.getRemapType() + " " + ghost(Integer.toUnsignedLong(r.getRemapId()));
            }
        }
        if (b.hasPipe()) {
            b.getPipeBuilder().clearId().clearPipeId();
            extra = " pipe " + inode(Integer.toUnsignedLong(f.getPipe().getPipeId()));
        }
        if (b.hasFifo()) {
            b.getFifoBuilder().clearId().clearPipeId().clearRegfId();
            long reg = Integer.toUnsignedLong(f.getFifo().getRegfId());
            extra = " pipe " + inode(Integer.toUnsignedLong(f.getFifo().getPipeId())) + " path "
                    + images.file(reg).map(x -> TextFormat.shortDebugString(x.getReg().toBuilder().clearId().buildPartial()))
                            .orElse("missing");
        }
        if (b.hasEpfd()) {
            // The kernel lists registrations in its own (pointer) order: sort them by fd number.
            List<EventpollTfdEntry> tfds = new ArrayList<>(f.getEpfd().getTfdList());
            tfds.sort(java.util.Comparator.comparingInt(EventpollTfdEntry::getTfd));
            b.getEpfdBuilder().clearId().clearTfd();
            for (EventpollTfdEntry t : tfds) {
                b.getEpfdBuilder().addTfd(t.toBuilder().clearInode().setDev(0));
                extra += " target " + t.getTfd() + " " + inode(t.getInode());
            }
        }
        if (b.hasTfd()) {
            boolean armed = f.getTfd().getVsec() != 0 || f.getTfd().getVnsec() != 0;
            b.getTfdBuilder().clearId().setVsec(0).setVnsec(0);
            extra = armed ? " armed" : " disarmed";
        }
        if (b.hasEfd()) {
            b.getEfdBuilder().clearId();
        }
        if (b.hasIsk()) {
            b.getIskBuilder().clearId().clearIno().clearNsId();
            extra = " socket " + inode(Integer.toUnsignedLong(f.getIsk().getIno()));
        }
        if (b.hasNlsk()) {
            b.getNlskBuilder().clearId().clearIno().clearNsId();
            extra = " socket " + inode(Integer.toUnsignedLong(f.getNlsk().getIno()));
        }
        if (b.hasPsk()) {
            b.getPskBuilder().clearId().clearNsId();
        }
        if (b.hasMemfd()) {
            b.getMemfdBuilder().clearId().clearInodeId();
            extra = " " + memfdInode(Integer.toUnsignedLong(f.getMemfd().getInodeId()));
        }
        return TextFormat.shortDebugString(b.buildPartial()) + extra;
    }

    /** A memfd's inode: its label, what memfd.img says of it and a digest of its pages. */
    private String memfdInode(long inodeId) throws IOException {
        for (fdrestore.api.image.proto.MemfdInodeEntry ie : images.entries(Magic.MEMFD_INODE,
                fdrestore.api.image.proto.MemfdInodeEntry.class)) {
            if (ie.getInodeId() != inodeId) {
                continue;
            }
            String label = "memfd-inode " + inode(0x1_0000_0000L + inodeId) + " "
                    + TextFormat.shortDebugString(ie.toBuilder().clearInodeId().clearShmid().buildPartial());
            Optional<ImageFile> pm = images.image(Magic.SHMEM_PAGEMAP, Integer.toUnsignedLong(ie.getShmid()));
            if (pm.isEmpty() || pm.get().size() == 0) {
                return label + " no pages";
            }
            StringBuilder runs = new StringBuilder();
            for (int i = 1; i < pm.get().size(); i++) {
                runs.append(' ').append(TextFormat.shortDebugString(pm.get().entry(i).message()));
            }
            long pagesId = Integer.toUnsignedLong(((fdrestore.api.image.proto.PagemapHead) pm.get().entry(0).message())
                    .getPagesId());
            java.nio.file.Path pages = images.dir().resolve("pages-" + pagesId + ".img");
            byte[] data = java.nio.file.Files.exists(pages) ? java.nio.file.Files.readAllBytes(pages) : null;
            return label + " pages" + runs + " " + digest(data);
        }
        return "memfd-inode " + inodeId + " missing";
    }

    private String ghost(long id) throws IOException {
        Optional<ImageFile> g = images.image(Magic.GHOST_FILE, id);
        if (g.isEmpty() || g.get().size() == 0) {
            return "ghost missing";
        }
        ImageEntry head = g.get().entry(0);
        fdrestore.api.image.proto.GhostFileEntry h = (fdrestore.api.image.proto.GhostFileEntry) head.message();
        return "ghost mode 0" + Integer.toOctalString(h.getMode()) + " uid " + h.getUid() + " gid " + h.getGid() + " "
                + digest(head.payload());
    }

    private void data(Magic magic, String name) throws IOException {
        List<String> lines = new ArrayList<>();
        for (ImageEntry e : images.image(magic).entries()) {
            PipeDataEntry p = (PipeDataEntry) e.message();
            lines.add(name + " " + inode(Integer.toUnsignedLong(p.getPipeId())) + " size " + p.getSize() + " "
                    + digest(e.payload()));
        }
        lines.sort(null);
        out.addAll(lines);
    }

    private static String digest(byte[] data) {
        if (data == null) {
            return "no data";
        }
        try {
            return data.length + " bytes sha256 " + HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(data)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
