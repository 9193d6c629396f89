package fdrestore.plugin.tty;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
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
import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of terminals ({@code FdType.TTY}): unix98 pseudo-terminals, a master ({@link PtyMaster})
 * and its slaves ({@link PtySlave}), plus the controlling terminal of each session leader
 * ({@link #processActions}).
 *
 * <p>Option {@code pty-any-index=true}: when a pty's index is taken on this host, the master takes any
 * free index and every slave of that pty opens the new {@code /dev/pts/N}; the controlling terminal follows
 * (it is given by fd). {@code --verify} does not compare tty paths, so it still passes; a comparison with
 * the original tree ({@code expected.norm}) shows the new /dev/pts/N and tty_nr.
 *
 * <p>The dump side is {@link TtyDumper}.
 */
@Extension
public final class TtyKind implements FileKind, FileDumper {
    @Override
    public Set<String> options() {
        return Set.of(PtyMaster.ANY_INDEX_OPTION);
    }

    @Override
    public String name() {
        return "tty";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.TTY);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return TtyDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return TtyDumper.dump(ctx);
    }

    static PtyState state(PlanContext ctx, int index) {
        // Per restore (its plan's memo), per pty index: the index the host gave.
        Map<Integer, PtyState> states = ctx.memo(PtyState.class, HashMap::new);
        synchronized (states) {
            return states.computeIfAbsent(index, PtyState::new);
        }
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasTty()) {
            throw new PlanException(file + ": files.img has no tty entry for it");
        }
        TtyImages images = TtyImages.of(ctx);
        TtyFile tf = images.file(file.id());
        if (tf.ctty()) {
            java.util.Set<Integer> tasks = new java.util.TreeSet<>();
            file.fles().forEach(f -> tasks.add(f.pid()));
            if (tasks.size() > 1) {
                throw new PlanException(tf + ": one open of /dev/tty shared by tasks " + tasks + "; an open of /dev/tty is"
                        + " made by the process that uses it, so each task's is its own: sharing one across tasks is not"
                        + " supported");
            }
            return new CttyFile(tf);
        }
        if (images.orphan(file.id()) != null) {
            if (OrphanSlave.hungUp(tf)) {
                return OrphanSlave.hung(tf, images.orphans(tf.index()).stream().filter(OrphanSlave::hungUp).toList());
            }
            String terminal = ctx.option(OrphanSlave.SHELL_JOB_OPTION);
            if (terminal == null) {
                throw new PlanException(OrphanSlave.external(tf));
            }
            return OrphanSlave.onTerminal(tf, terminal);
        }
        Pty pty = images.pty(tf.index());
        if (pty == null) {
            throw new PlanException(tf + ": no master for pty index " + tf.index());
        }
        PtyState state = state(ctx, tf.index());
        return tf.master() ? new PtyMaster(pty, state) : new PtySlave(tf, pty, state);
    }

    /**
     * A session leader whose session's terminal (a tty-info entry with {@code sid} = its pid) it holds as an
     * fd takes that terminal as its controlling terminal (TIOCSCTTY, through a slave fd when it has one,
     * else the master's, which the kernel maps to the slave) and makes the image's {@code pgrp} its
     * foreground group (TIOCSPGRP). A leader of a session with a terminal but no fd on it is an error:
     * a controlling terminal is acquired through an fd, and fdrestore does not open a fake one as CRIU does.
     */
    @Override
    public List<ProcessAction> processActions(ImageSet.Task task, PlanContext ctx) throws PlanException {
        TtyImages images = TtyImages.of(ctx);
        List<ProcessAction> out = new java.util.ArrayList<>(leaderActions(task, ctx, images));
        Map<Long, List<Integer>> cttys = new java.util.TreeMap<>();
        Map<Long, Integer> flags = new HashMap<>();
        for (ImageSet.Fd fd : task.fds()) {
            TtyFile tf = fd.type() == FdType.TTY ? images.fileOrNull(fd.fileId()) : null;
            if (tf != null && tf.ctty()) {
                cttys.computeIfAbsent(tf.id(), k -> new java.util.ArrayList<>()).add(fd.fd());
                flags.put(tf.id(), tf.entry().getFlags() & Tty.OPEN_MASK);
            }
        }
        cttys.forEach((id, fds) -> out.add(new ProcessAction.ReopenControllingTty(fds, flags.get(id))));
        return out;
    }

    /** The session leader's controlling terminal and foreground group. */
    private static List<ProcessAction> leaderActions(ImageSet.Task task, PlanContext ctx, TtyImages images)
            throws PlanException {
        if (!task.sessionLeader()) {
            return List.of();
        }
        int bestFd = -1;
        boolean bestIsSlave = false;
        TtyInfoEntry bestInfo = null;
        boolean orphanHeld = false;
        for (ImageSet.Fd fd : task.fds()) {
            if (fd.type() != FdType.TTY) {
                continue;
            }
            TtyFile tf = images.fileOrNull(fd.fileId());
            if (tf == null || tf.ctty() || tf.info().getSid() != task.pid()) {
                continue;
            }
            if (images.orphan(tf.id()) != null) {
                if (OrphanSlave.hungUp(tf) || ctx.option(OrphanSlave.SHELL_JOB_OPTION) == null) {
                    orphanHeld = true;
                    continue; // a hung-up terminal controls nothing; an external one fails its own plan
                }
                throw new PlanException("task " + task.pid() + " leads session " + task.pid() + ", whose controlling"
                        + " terminal (" + tf.path() + ", fd " + fd.fd() + ") was held outside the dumped tree:"
                        + " --shell-job restores a job into fdrestore's own session, which a session leader cannot join;"
                        + " dump the job from its shell's child instead");
            }
            boolean slave = !tf.master();
            if (bestInfo == null || slave && !bestIsSlave) {
                bestFd = fd.fd();
                bestIsSlave = slave;
                bestInfo = tf.info();
            }
        }
        if (bestInfo == null && !orphanHeld) {
            for (TtyInfoEntry i : images.infos().values()) {
                if (i.getSid() == task.pid() && i.hasPty() && i.getType() == Tty.TYPE_PTY) {
                    // No fd of its own on it (its master is another session's task's): opened by path for
                    // TIOCSCTTY, as criu's fake CTL_TTY file, then closed.
                    Pty pty = images.pty(i.getPty().getIndex());
                    if (pty == null) {
                        throw new PlanException("task " + task.pid() + " leads session " + task.pid() + ", whose"
                                + " controlling terminal is pty " + i.getPty().getIndex() + " (tty-info " + i.getId()
                                + "), held by no fd of the images and with no master in them");
                    }
                    String path = "/dev/pts/" + i.getPty().getIndex();
                    return i.getPgrp() == 0 ? List.of(new ProcessAction.ControllingTerminalPath(path))
                            : List.of(new ProcessAction.ControllingTerminalPath(path), new ProcessAction.ForegroundGroup(-1, i.getPgrp()));
                }
            }
        }
        if (bestInfo == null) {
            return List.of();
        }
        if (bestInfo.getPgrp() == 0) {
            return List.of(new ProcessAction.ControllingTerminal(bestFd));
        }
        return List.of(new ProcessAction.ControllingTerminal(bestFd),
                new ProcessAction.ForegroundGroup(bestFd, bestInfo.getPgrp()));
    }

    /** criu's name of a terminal: {@code tty[RDEV:DEV]} (hex) of its tty-info entry; none when that is missing. */
    @Override
    public String inheritKey(FileEntry entry, ImageSet images) {
        if (!entry.hasTty()) {
            return null;
        }
        int infoId = entry.getTty().getTtyInfoId();
        try {
            for (TtyInfoEntry i : images.entries(Magic.TTY_INFO, TtyInfoEntry.class)) {
                if (i.getId() == infoId) {
                    return "tty[" + Integer.toHexString(i.getRdev()) + ":" + Integer.toHexString(i.getDev()) + "]";
                }
            }
        } catch (IOException e) {
            // no key: planning reports the unreadable image
        }
        return null;
    }

    @Override
    public String describe(FileEntry f, ImageSet images) {
        if (!f.hasTty()) {
            return null;
        }
        int infoId = f.getTty().getTtyInfoId();
        List<TtyInfoEntry> infos;
        try {
            infos = images.entries(Magic.TTY_INFO, TtyInfoEntry.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
        for (TtyInfoEntry t : infos) {
            if (t.getId() == infoId) {
                String role = switch (t.getType()) {
                    case 1 -> "pty";
                    case 2 -> "console";
                    case 3 -> "vt";
                    case 4 -> "ctty";
                    case 5 -> "ext";
                    case 6 -> "serial";
                    default -> "tty type " + t.getType();
                };
                boolean master = ptyMaster(t);
                StringBuilder sb = new StringBuilder(role);
                if (t.hasPty()) {
                    sb.append(master ? " master /dev/ptmx index " : " slave /dev/pts/").append(t.getPty().getIndex());
                }
                sb.append(' ').append(Describe.openFlags(f.getTty().getFlags()));
                if (t.getSid() != 0) {
                    sb.append(" session ").append(t.getSid()).append(" fg pgrp ").append(t.getPgrp());
                }
                if (t.getLocked()) {
                    sb.append(" locked");
                }
                if (t.getPacketMode()) {
                    sb.append(" packet-mode");
                }
                return sb.toString();
            }
        }
        return "tty (tty-info " + infoId + " missing)";
    }

    /** A tty's path is not compared (see above): its open flags are. */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        if (entry.hasTty()) {
            FdChecks.openFlags(out, entry.getTty().getFlags(), fdinfo);
        }
        return out;
    }

    /** The path and flags of its path entry, else its own flags. */
    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        if (!entry.hasTty()) {
            return null;
        }
        if (entry.getTty().hasRegfId()) {
            FileEntry r = images.file(Integer.toUnsignedLong(entry.getTty().getRegfId())).filter(FileEntry::hasReg)
                    .orElse(null);
            if (r != null) {
                return new Summary(r.getReg().getName(), r.getReg().getFlags(), null);
            }
        }
        return new Summary(null, entry.getTty().getFlags(), null);
    }

    /** A pty slave is opened after its master (the ptmx file of the same index). */
    @Override
    public List<FileEdge> graphEdges(FileEntry entry, ImageSet images) {
        if (!entry.hasTty()) {
            return List.of();
        }
        Map<Integer, TtyInfoEntry> infos = new HashMap<>();
        try {
            for (TtyInfoEntry t : images.entries(Magic.TTY_INFO, TtyInfoEntry.class)) {
                infos.put(t.getId(), t);
            }
        } catch (IOException e) {
            return List.of();   // no tty-info image: no tty dependencies to draw
        }
        TtyInfoEntry info = infos.get(entry.getTty().getTtyInfoId());
        if (info == null || !info.hasPty() || ptyMaster(info)) {
            return List.of();
        }
        Long master = null;
        for (FileEntry f : images.files().values()) {
            TtyInfoEntry i = f.hasTty() ? infos.get(f.getTty().getTtyInfoId()) : null;
            if (i != null && i.hasPty() && ptyMaster(i) && i.getPty().getIndex() == info.getPty().getIndex()) {
                master = Integer.toUnsignedLong(f.getId());
            }
        }
        return master == null ? List.of() : List.of(FileEdge.after(master, "tty"));
    }

    /** The tty-info of /dev/ptmx (major 5, minor 2). */
    private static boolean ptyMaster(TtyInfoEntry t) {
        return ((t.getRdev() >>> 8) & 0xfff) == 5 && (t.getRdev() & 0xff) == 2;
    }
}
