package fdrestore.plugin.regularfile;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FdChecks;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.sys.Linux;
import fdrestore.plugin.regularfile.RegularFileRestorer.Expect;
import fdrestore.plugin.regularfile.RegularFileRestorer.Owner;
import fdrestore.plugin.regularfile.RegularFileRestorer.Peer;
import fdrestore.plugin.regularfile.RegularFileRestorer.Route;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The "regular" file kind: fd type REG (regular files, directories, host character devices), with
 * CRIU's LINKED and GHOST remaps. See the package documentation for what a restore does.
 *
 * <p>An owner (F_SETOWN) outside the tree is set as the file is opened; an owner that is a task or a
 * process group of the tree is set once every process exists ({@link ProcessAction.Owner}), since the
 * kernel chooses their pids only then. Restore-wide option {@value #FOWN_OPTION}: {@code strict} (the
 * default), or {@code ignore} to leave owners of the tree unset (the signal number is still restored).
 *
 * <p>File locks and leases of {@code filelocks.img} (criu {@code --file-locks}) are taken again by the
 * process of the task that held them ({@link ProcessAction.FileLock}).
 */
@Extension
public final class RegularFileKind implements FileKind, FileDumper {
    /** The option that decides what happens to fown owners that cannot be restored. */
    public static final String FOWN_OPTION = "regular-file.fown";

    /** Kernel F_OWNER_* values, as FownEntry.pid_type records them. */
    static final int F_OWNER_TID = 0;
    static final int F_OWNER_PID = 1;
    static final int F_OWNER_PGRP = 2;

    @Override
    public Set<String> options() {
        return Set.of(RegularFileRestorer.ALLOW_DEVICES, FOWN_OPTION);
    }

    @Override
    public String name() {
        return "regular";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.REG);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return RegularFileDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return RegularFileDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        FileEntry entry = file.entry();
        if (entry == null || !entry.hasReg()) {
            throw new PlanException(file + ": its files.img entry has no regular-file part (reg)");
        }
        RegFileEntry reg = entry.getReg();
        String name = reg.getName();
        String what = "regular file " + name + " (file " + file.id() + ")";
        if (reg.getExt()) {
            throw new PlanException(what + ": an external file (criu --external) is not supported");
        }
        if (name.isEmpty()) {
            throw new PlanException(what + ": the image gives no path");
        }
        ImageSet images = ctx.images();
        Path root = ctx.root() == null ? Paths.get("/") : ctx.root();
        int flags = OpenFlags.forOpen(reg.getFlags());
        Expect expect = new Expect(reg.hasSize(), reg.getSize(), reg.hasMode(), reg.getMode());
        Owner owner = owner(what, reg, images, ctx.option(FOWN_OPTION));

        Remaps remaps = Remaps.of(ctx);
        Remaps.Remap remap = remaps.of(file.id());
        int procTask = procTask(name, images);
        if (remap == null && procTask > 0) {
            String first = name.split("/")[3];
            if (Set.of("root", "cwd", "exe", "fd", "map_files", "task", "ns").contains(first)) {
                throw new PlanException(what + ": /proc/" + procTask + "/" + first + " leads out of --root through a "
                        + "magic link of the task's process: not restored");
            }
            long tasks = file.fles().stream().mapToInt(f -> f.pid()).distinct().count();
            if (tasks > 1) {
                throw new PlanException(what + ", a procfs file of task " + procTask + ", is shared by " + tasks
                        + " tasks: each task's process opens its own, so one description cannot be shared");
            }
            if ((flags & (Linux.O_WRONLY | Linux.O_RDWR)) != 0) {
                throw new PlanException(what + ": a procfs file of task " + procTask + " open for writing is not restored");
            }
            return new ProcFilePlaceholder(file.id(), name);
        }
        if (remap == null) {
            Route route = HostDevices.isHostDevice(name, reg.hasMode(), reg.getMode()) ? Route.HOST : Route.ROOT;
            return new RegularFileRestorer(file.id(), name, name, route, flags, reg.getPos(), expect, owner, null,
                    List.of(), -1);
        }
        switch (remap.type()) {
            case Remaps.LINKED: {
                FileEntry link = images.file(remap.remapId()).orElseThrow(() -> new PlanException(what
                        + ": remap-fpath.img links it to file " + remap.remapId() + ", which files.img does not hold"));
                if (!link.hasReg() || link.getReg().getName().isEmpty()) {
                    throw new PlanException(what + ": its linked remap (file " + remap.remapId()
                            + ") is not a regular file with a path");
                }
                return new RegularFileRestorer(file.id(), name, link.getReg().getName(), Route.LINKED, flags,
                        reg.getPos(), expect, owner, null, List.of(), -1);
            }
            case Remaps.GHOST:
                return planGhost(file, what, reg, remaps, remap, images, root, flags, expect, owner);
            default:
                throw new PlanException(what + ": remap " + remap.typeName() + " (remap id " + remap.remapId()
                        + ") is not supported (only LINKED and GHOST are)");
        }
    }

    private static RegularFileRestorer planGhost(FileInfo file, String what, RegFileEntry reg, Remaps remaps,
            Remaps.Remap remap, ImageSet images, Path root, int flags, Expect expect, Owner owner) throws PlanException {
        ImageFile img;
        try {
            img = images.image(Magic.GHOST_FILE, remap.remapId()).orElseThrow(() -> new PlanException(what
                    + ": it was deleted at dump time and " + Magic.GHOST_FILE.fileName(remap.remapId())
                    + " (its content) is missing"));
        } catch (IOException e) {
            throw new PlanException(what + ": cannot read " + Magic.GHOST_FILE.fileName(remap.remapId()) + ": "
                    + e.getMessage(), e);
        }
        GhostFile ghost;
        try {
            ghost = GhostFile.of(remap.remapId(), img);
        } catch (PlanException e) {
            throw new PlanException(what + ": " + e.getMessage(), e);
        }
        if (expect.hasSize() && ghost.size() != expect.size()) {
            throw new PlanException(what + ": " + ghost + " holds " + ghost.size() + " bytes, the image expects "
                    + expect.size());
        }
        Path target = root.resolve(RegularFileRestorer.relative(reg.getName()));
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new PlanException(what + ": it was deleted at dump time, but " + target
                    + " exists; refusing to recreate the ghost over it");
        }
        // Every file description of this ghost that is restored: the lowest id creates it for all.
        List<Long> users = new ArrayList<>();
        for (long u : remaps.ghostUsers(remap.remapId())) {
            if (u == file.id() || !images.sharers(u).isEmpty()) {
                users.add(u);
            }
        }
        if (!users.contains(file.id())) {
            users.add(file.id());
            users.sort(null);
        }
        long creator = users.get(0);
        if (creator != file.id()) {
            return new RegularFileRestorer(file.id(), reg.getName(), reg.getName(), Route.GHOST_SHARER, flags,
                    reg.getPos(), expect, owner, ghost, List.of(), creator);
        }
        List<Peer> peers = new ArrayList<>();
        for (long u : users.subList(1, users.size())) {
            FileEntry pe = images.file(u).orElseThrow(() -> new PlanException(what + ": ghost "
                    + remap.remapId() + " is also used by file " + u + ", which files.img does not hold"));
            if (!pe.hasReg()) {
                throw new PlanException(what + ": ghost " + remap.remapId() + " is also used by file " + u
                        + ", which is not a regular file");
            }
            peers.add(new Peer(u, OpenFlags.forOpen(pe.getReg().getFlags())));
        }
        return new RegularFileRestorer(file.id(), reg.getName(), reg.getName(), Route.GHOST_CREATOR, flags,
                reg.getPos(), expect, owner, ghost, peers, -1);
    }

    private static boolean inTree(ImageSet images, int pid) {
        return images.tasks().stream().anyMatch(t -> t.pid() == pid || t.pgid() == pid || t.threads().contains(pid));
    }

    /**
     * The owner of the tree that a file's fown names, as a process action on {@code fd}; a PlanException
     * when it cannot be set faithfully.
     */
    private static ProcessAction.Owner treeOwner(String what, FownEntry fown, ImageSet images) throws PlanException {
        int pid = fown.getPid();
        String who = what + ": its owner (F_SETOWN, pid_type " + fown.getPidType() + ", pid " + pid + ")";
        if (fown.getPidType() != F_OWNER_PID && fown.getPidType() != F_OWNER_PGRP) {
            throw new PlanException(who + " is a thread of the restored tree (F_OWNER_TID), which needs"
                    + " F_SETOWN_EX; restore with option " + FOWN_OPTION + "=ignore to leave it unset");
        }
        if (images.task(pid).isEmpty()) {
            throw new PlanException(who + " is in the restored tree but is not one of its tasks"
                    + (fown.getPidType() == F_OWNER_PGRP ? " (a group whose leader is not in the images)" : "")
                    + "; restore with option " + FOWN_OPTION + "=ignore to leave it unset");
        }
        return new ProcessAction.Owner(-1, pid, fown.getPidType() == F_OWNER_PGRP);
    }

    private static final java.util.regex.Pattern PROC_PID = java.util.regex.Pattern.compile("/proc/([1-9][0-9]{0,9})/(.+)");

    /**
     * The image pid of the task of the tree whose procfs file {@code name} is ({@code /proc/PID/...}), else
     * 0. Such a file cannot be under --root: the task's own restored process opens /proc/REAL/... itself
     * ({@link ProcessAction.ProcFile}).
     */
    static int procTask(String name, ImageSet images) {
        java.util.regex.Matcher m = PROC_PID.matcher(name);
        if (!m.matches() || m.group(2).contains("..") || Long.parseLong(m.group(1)) > Integer.MAX_VALUE) {
            return 0;
        }
        int pid = Integer.parseInt(m.group(1));
        return images.task(pid).isPresent() ? pid : 0;
    }

    /** filelocks.img's lock kinds (FileLockEntry.flag). */
    static final int FL_POSIX = 1;
    static final int FL_FLOCK = 2;
    static final int FL_OFD = 4;
    static final int FL_LEASE = 8;

    /**
     * The locks {@code task} takes again (filelocks.img), and the owners of the tree it sets on the files
     * it is the first holder of.
     */
    @Override
    public List<ProcessAction> processActions(ImageSet.Task task, PlanContext ctx) throws PlanException {
        ImageSet images = ctx.images();
        List<ProcessAction> out = new ArrayList<>();
        boolean ignoreOwners = "ignore".equals(ctx.option(FOWN_OPTION));
        for (ImageSet.Fd fd : task.fds()) {
            if (ignoreOwners || fd.type() != FdType.REG) {
                continue;
            }
            FileEntry e = images.file(fd.fileId()).orElse(null);
            if (e == null || !e.hasReg() || !e.getReg().hasFown() || e.getReg().getFown().getPid() == 0
                    || !inTree(images, e.getReg().getFown().getPid())) {
                continue;
            }
            ImageSet.FdRef first = images.sharers(fd.fileId()).stream().min(Comparator
                    .comparingInt(ImageSet.FdRef::pid).thenComparingInt(r -> r.fd().fd())).orElse(null);
            if (first != null && first.pid() == task.pid() && first.fd().fd() == fd.fd()) {
                ProcessAction.Owner o = treeOwner("regular file " + e.getReg().getName() + " (file " + fd.fileId()
                        + ")", e.getReg().getFown(), images);
                out.add(new ProcessAction.Owner(fd.fd(), o.imagePid(), o.group()));
            }
        }
        Map<Long, List<Integer>> procFds = new java.util.LinkedHashMap<>();
        for (ImageSet.Fd fd : task.fds()) {
            FileEntry e = fd.type() == FdType.REG ? images.file(fd.fileId()).orElse(null) : null;
            if (e != null && e.hasReg() && procTask(e.getReg().getName(), images) > 0
                    && Remaps.of(ctx).of(fd.fileId()) == null) {
                procFds.computeIfAbsent(fd.fileId(), k -> new ArrayList<>()).add(fd.fd());
            }
        }
        for (Map.Entry<Long, List<Integer>> p : procFds.entrySet()) {
            RegFileEntry reg = images.file(p.getKey()).orElseThrow().getReg();
            java.util.regex.Matcher m = PROC_PID.matcher(reg.getName());
            m.matches();
            out.add(new ProcessAction.ProcFile(p.getValue(), Integer.parseInt(m.group(1)), m.group(2),
                    OpenFlags.forOpen(reg.getFlags()), reg.getPos()));
        }
        List<FileLockEntry> locks;
        try {
            locks = images.entries(Magic.FILE_LOCKS, FileLockEntry.class);
        } catch (IOException e) {
            throw new PlanException("cannot read " + Magic.FILE_LOCKS.fileName() + ": " + e.getMessage(), e);
        }
        for (int i = 0; locks != null && i < locks.size(); i++) {
            FileLockEntry l = locks.get(i);
            if (l.getPid() == task.pid()) {
                out.add(lock(i, l, task));
            }
        }
        return out;
    }

    /** One entry of filelocks.img as the action that takes it again; a PlanException when it cannot be. */
    static ProcessAction.FileLock lock(int index, FileLockEntry l, ImageSet.Task task) throws PlanException {
        String what = Magic.FILE_LOCKS.fileName() + " entry " + index + " (task " + l.getPid() + " fd " + l.getFd()
                + ", flag " + l.getFlag() + ", type " + l.getType() + ")";
        ImageSet.Fd fd = task.fds().stream().filter(f -> f.fd() == l.getFd()).findFirst().orElseThrow(
                () -> new PlanException(what + ": the task has no such fd"));
        if (fd.type() != FdType.REG) {
            throw new PlanException(what + ": a lock on a " + fd.type() + " file is not supported");
        }
        int flag = l.getFlag();
        int type = l.getType();
        if (flag != FL_POSIX && flag != FL_FLOCK && flag != FL_OFD && flag != FL_LEASE) {
            throw new PlanException(what + ": unknown lock kind (1 POSIX, 2 flock, 4 OFD, 8 lease)");
        }
        if (flag == FL_LEASE && (type & 4) != 0) {
            throw new PlanException(what + ": a lease that was being broken is not restored");
        }
        if (flag == FL_FLOCK && type >= 32) {
            throw new PlanException(what + ": a mandatory flock (LOCK_MAND, gone since Linux 5.15) is not restored");
        }
        if (type != 0 && type != 1) {
            throw new PlanException(what + ": lock type " + type + " is neither F_RDLCK (0) nor F_WRLCK (1)");
        }
        if (l.getStart() < 0 || l.getLen() < 0 || (flag != FL_POSIX && flag != FL_OFD && (l.getStart() != 0 || l.getLen() != 0))) {
            throw new PlanException(what + ": range " + l.getStart() + "+" + l.getLen() + " is not valid for this kind");
        }
        return new ProcessAction.FileLock(l.getFd(), flag, type, l.getStart(), l.getLen());
    }

    /** The F_SETSIG / F_SETOWN state to restore, or a PlanException when it cannot be restored faithfully. */
    static Owner owner(String what, RegFileEntry reg, ImageSet images, String option) throws PlanException {
        if (!reg.hasFown()) {
            return Owner.NONE;
        }
        FownEntry fown = reg.getFown();
        int signum = fown.getSignum();
        int pid = fown.getPid();
        if (pid == 0) {
            return new Owner(signum, 0);
        }
        boolean ignore;
        if (option == null || option.equals("strict")) {
            ignore = false;
        } else if (option.equals("ignore")) {
            ignore = true;
        } else {
            throw new PlanException("option " + FOWN_OPTION + "=" + option + " is not one of strict, ignore");
        }
        if (ignore) {
            return new Owner(signum, 0);
        }
        if (inTree(images, pid)) {
            treeOwner(what, fown, images);
            return new Owner(signum, 0); // set once the owner's real pid is known: see processActions
        }
        switch (fown.getPidType()) {
            case F_OWNER_PID:
                return new Owner(signum, pid);
            case F_OWNER_PGRP:
                return new Owner(signum, -pid);
            default:
                throw new PlanException(what + ": its owner is thread " + pid + " (F_OWNER_TID), which needs"
                        + " F_SETOWN_EX; restore with option " + FOWN_OPTION + "=ignore to leave it unset");
        }
    }

    /** criu's name of a regular file: its path, or for one dumped as external the name criu stored. */
    @Override
    public String inheritKey(FileEntry entry, ImageSet images) {
        return entry.hasReg() ? entry.getReg().getName() : null;
    }

    /** A file criu dumped as external ({@code ext} set) is only a name: --inherit-fd must give it. */
    @Override
    public boolean inheritOnly(FileEntry entry) {
        return entry.hasReg() && entry.getReg().getExt();
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasReg()) {
            return null;
        }
        RegFileEntry r = entry.getReg();
        StringBuilder sb = new StringBuilder(r.getName());
        sb.append(' ').append(Describe.openFlags(r.getFlags()));
        if (r.getPos() != 0) {
            sb.append(" pos ").append(Long.toUnsignedString(r.getPos()));
        }
        if (r.hasSize()) {
            sb.append(" size ").append(Long.toUnsignedString(r.getSize()));
        }
        if (r.hasMode()) {
            sb.append(" mode 0").append(Integer.toOctalString(r.getMode()));
        }
        List<RemapFilePathEntry> remaps;
        try {
            remaps = images.entries(Magic.REMAP_FPATH, RemapFilePathEntry.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
        for (RemapFilePathEntry m : remaps) {
            if (m.getOrigId() == r.getId()) {
                int type = m.hasRemapType() ? m.getRemapType() : 0;
                sb.append(type == 1 ? " (deleted: ghost-file-" : type == 0 ? " (deleted: linked to file " : " (remap ")
                        .append(Integer.toUnsignedString(m.getRemapId())).append(type == 1 ? ".img)" : ")");
            }
        }
        return sb.toString();
    }

    /**
     * The path under the root (a device's as recorded), the open flags, and the position of a file that
     * has one (not O_PATH, not a character device).
     */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo, ImageSet images, Path root) {
        List<String> out = new ArrayList<>();
        if (!entry.hasReg()) {
            return out;
        }
        RegFileEntry r = entry.getReg();
        String name = r.getName();
        boolean dev = r.hasMode() && (r.getMode() & 0170000) == 0020000;
        if (procTask(name, images) > 0) {
            // a procfs file of a task of the tree: of its restored process, not under the root
            FdChecks.link(out, link, "/proc/");
        } else {
            FdChecks.link(out, link, dev || root.toString().equals("/") ? name
                    : root.resolve(name.startsWith("/") ? name.substring(1) : name).normalize().toString());
        }
        FdChecks.openFlags(out, r.getFlags(), fdinfo);
        boolean seekable = (r.getFlags() & Linux.O_PATH) == 0 && !dev;
        if (seekable) {
            FdChecks.position(out, r.getPos(), fdinfo);
        }
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasReg() ? new Summary(entry.getReg().getName(), entry.getReg().getFlags(), entry.getReg().getPos()) : null;
    }
}
