package fdrestore.plugin.tty;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TtyDataEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one image set says about terminals, read once per image set: every tty file with an fd, its
 * tty-info entry and role, the ptys they form (grouped by index), and the queued data. Problems are kept
 * per file and thrown when that file is planned, so that each file's error names it.
 */
final class TtyImages {
    /** One tty open file description of the images. */
    record TtyFile(long id, TtyFileEntry entry, TtyInfoEntry info, boolean master, String path) {
        int index() {
            return info.getPty().getIndex();
        }

        /** An open of /dev/tty (criu's CTTY): the controlling terminal of the task that opened it. */
        boolean ctty() {
            return info.getType() == Tty.TYPE_CTTY;
        }

        @Override
        public String toString() {
            return ctty() ? "tty file " + id + " (" + path + ", the controlling terminal)"
                    : "tty file " + id + " (" + path + ", pty " + (master ? "master" : "slave") + " index " + index() + ")";
        }
    }

    private final Map<Long, TtyFile> files = new HashMap<>();
    private final Map<Long, String> problems = new HashMap<>();
    /** Slave files whose pty has no master in the images: outside the tree (external), or hung up. */
    private final Map<Long, TtyFile> orphans = new HashMap<>();
    private final Map<Integer, Pty> ptys = new TreeMap<>();
    private final Map<Integer, byte[]> data = new HashMap<>();
    private final Map<Integer, TtyInfoEntry> infos = new HashMap<>();

    /** Never holds the image set itself: the cache's weak key must stay collectable. */
    private TtyImages(ImageSet images) throws PlanException {
        try {
            for (TtyInfoEntry i : images.entries(Magic.TTY_INFO, TtyInfoEntry.class)) {
                infos.putIfAbsent(i.getId(), i);
            }
            for (TtyDataEntry d : images.entries(Magic.TTY_DATA, TtyDataEntry.class)) {
                data.put(d.getTtyId(), d.getData().toByteArray());
            }
        } catch (IOException e) {
            throw new PlanException("cannot read tty-info.img / tty-data.img: " + e.getMessage(), e);
        }
        Map<Integer, List<TtyFile>> masters = new TreeMap<>();
        Map<Integer, List<TtyFile>> slaves = new TreeMap<>();
        for (FileEntry f : images.files().values()) {
            if (!f.hasTty()) {
                continue;
            }
            long id = Integer.toUnsignedLong(f.getId());
            if (images.sharers(id).isEmpty()) {
                continue; // no fd refers to it: nothing to restore
            }
            TtyFileEntry e = f.getTty();
            TtyInfoEntry info = infos.get(e.getTtyInfoId());
            if (info == null) {
                problems.put(id, "tty file " + id + ": its tty-info entry " + e.getTtyInfoId() + " is not in tty-info.img");
                continue;
            }
            String regPath = null;
            if (e.hasRegfId()) {
                FileEntry reg = images.file(Integer.toUnsignedLong(e.getRegfId())).orElse(null);
                if (reg == null || !reg.hasReg()) {
                    problems.put(id, "tty file " + id + ": names regular-file entry " + Integer.toUnsignedString(e.getRegfId())
                            + " for its path, which is not in files.img");
                    continue;
                }
                regPath = reg.getReg().getName();
            }
            if (info.getType() == Tty.TYPE_CTTY && Tty.isCtty(info.getRdev())) {
                files.put(id, new TtyFile(id, e, info, false, regPath != null ? regPath : "/dev/tty"));
                continue;
            }
            if (info.getType() != Tty.TYPE_PTY) {
                problems.put(id, "tty file " + id + (regPath != null ? " (" + regPath + ")" : "") + ": a "
                        + Tty.typeName(info.getType()) + " terminal (rdev " + Tty.dev(info.getRdev())
                        + "); only unix98 pseudo-terminals are supported");
                continue;
            }
            if (!info.hasPty()) {
                problems.put(id, "tty file " + id + ": a PTY without its pty index in tty-info entry " + info.getId());
                continue;
            }
            int rawIndex = info.getPty().getIndex();
            if (rawIndex < 0 || rawIndex >= Tty.MAX_PTY_INDEX) {
                problems.put(id, "tty file " + id + (regPath != null ? " (" + regPath + ")" : "") + ": tty-info entry "
                        + info.getId() + " gives pty index " + Integer.toUnsignedString(rawIndex) + ", out of range"
                        + " (the kernel's pty indices are below " + Tty.MAX_PTY_INDEX + ")");
                continue;
            }
            boolean master;
            if (Tty.isPtyMaster(info.getRdev())) {
                master = true;
            } else if (Tty.isPtySlave(info.getRdev())) {
                master = false;
            } else {
                problems.put(id, "tty file " + id + ": rdev " + Tty.dev(info.getRdev()) + " is neither a pty master nor a slave");
                continue;
            }
            int index = info.getPty().getIndex();
            String path = regPath != null ? regPath : master ? "/dev/ptmx" : "/dev/pts/" + index;
            TtyFile tf = new TtyFile(id, e, info, master, path);
            if (master && !info.hasTermios()) {
                problems.put(id, tf + ": the master has no termios in tty-info entry " + info.getId()
                        + " (hung up at dump time)");
                continue;
            }
            if (master && info.hasTermios()) {
                try {
                    Termios.of(info.getTermios());
                    if (info.hasTermiosLocked()) {
                        Termios.of(info.getTermiosLocked());
                    }
                } catch (IllegalArgumentException x) {
                    problems.put(id, tf + ": tty-info entry " + info.getId() + ": " + x.getMessage());
                    continue;
                }
            }
            files.put(id, tf);
            (master ? masters : slaves).computeIfAbsent(index, k -> new ArrayList<>()).add(tf);
        }
        for (Map.Entry<Integer, List<TtyFile>> m : masters.entrySet()) {
            int index = m.getKey();
            if (m.getValue().size() > 1) {
                for (TtyFile tf : m.getValue()) {
                    problems.put(tf.id(), tf + ": pty index " + index + " has " + m.getValue().size()
                            + " master files in the images (files " + ids(m.getValue()) + "); a pty has one master");
                }
                continue;
            }
            TtyFile master = m.getValue().get(0);
            List<TtyFile> sl = slaves.getOrDefault(index, List.of());
            TtyInfoEntry slaveInfo = sl.isEmpty() ? null : sl.get(0).info();
            byte[] toMaster = data.get(master.info().getId());
            byte[] toSlave = slaveInfo == null ? null : data.get(slaveInfo.getId());
            ptys.put(index, new Pty(index, master, sl, toMaster, toSlave));
        }
        for (Map.Entry<Integer, List<TtyFile>> s : slaves.entrySet()) {
            if (ptys.containsKey(s.getKey()) || masters.containsKey(s.getKey())) {
                continue;
            }
            for (TtyFile tf : s.getValue()) {
                orphans.put(tf.id(), tf);
            }
        }
    }

    private static String ids(List<TtyFile> l) {
        List<String> out = new ArrayList<>();
        for (TtyFile f : l) {
            out.add(Long.toString(f.id()));
        }
        return String.join(", ", out);
    }

    /** The ttys of {@code images}, read now. */
    static TtyImages of(ImageSet images) throws PlanException {
        return new TtyImages(images);
    }

    /** The ttys of the restore's image set, read once per plan ({@link PlanContext#memo}), or why not. */
    static TtyImages of(PlanContext ctx) throws PlanException {
        Object t = ctx.memo(TtyImages.class, () -> {
            try {
                return new TtyImages(ctx.images());
            } catch (PlanException e) {
                return e;
            }
        });
        if (t instanceof PlanException e) {
            throw new PlanException(e.getMessage(), e.getCause());
        }
        return (TtyImages) t;
    }

    /** The tty file {@code id}, or throws the problem found with it. */
    TtyFile file(long id) throws PlanException {
        String p = problems.get(id);
        if (p != null) {
            throw new PlanException(p);
        }
        TtyFile f = files.get(id);
        if (f == null) {
            throw new PlanException("tty file " + id + ": files.img has no tty entry for it");
        }
        return f;
    }

    /**
     * Slave file {@code id} when its pty has no master in the images (an external terminal, or a hung-up
     * one when its tty-info has no termios), else null.
     */
    TtyFile orphan(long id) {
        return orphans.get(id);
    }

    /** Every orphan slave file with pty index {@code index}, by id. */
    List<TtyFile> orphans(int index) {
        List<TtyFile> out = new ArrayList<>();
        for (TtyFile f : orphans.values()) {
            if (f.index() == index) {
                out.add(f);
            }
        }
        out.sort(java.util.Comparator.comparingLong(TtyFile::id));
        return out;
    }

    /** The tty file {@code id} if it was read without a problem, else null. */
    TtyFile fileOrNull(long id) {
        return files.get(id);
    }

    /** The pty with image index {@code index} (it has a master), or null. */
    Pty pty(int index) {
        return ptys.get(index);
    }

    /** Every pty with a master, by index. */
    Map<Integer, Pty> ptys() {
        return Collections.unmodifiableMap(ptys);
    }

    /** Every tty-info entry, by id. */
    Map<Integer, TtyInfoEntry> infos() {
        return Collections.unmodifiableMap(infos);
    }
}
