package fdrestore.plugin.tty;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.TtyPtyEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dump side of unix98 ptys, as CRIU writes them: each open file is a {@code TtyFileEntry} naming its
 * terminal's tty-info entry and the regular-file entry of the path it was opened by ({@code /dev/ptmx},
 * {@code /dev/pts/N}); each terminal (the master side and the slave side of a pty are two) has one
 * tty-info entry, id {@code 2 * index + (master ? 1 : 0)} (CRIU's tty_gen_id), written once. The index of
 * a master is the {@code tty-index:} line of its fdinfo; of a slave, its device number.
 *
 * <p>Read on the pidfd_getfd copy: lock (TIOCGPTLCK), packet mode (TIOCGPKT), exclusive mode (TIOCGEXCL),
 * termios (TCGETS), locked termios (TIOCGLCKTRMIOS), window size (TIOCGWINSZ). The session and foreground
 * group of the pty (TIOCGSID, TIOCGPGRP) are asked on a master, where the kernel answers for the slave
 * whoever asks; a slave answers only to its own session, so a slave's come from its master when the master
 * was dumped, else from /proc/PID/stat of its holder when the pty is that task's controlling terminal.
 *
 * <p><b>Queued data is not dumped.</b> A tty has no peek: data the master has not read (written by the
 * slave side) or the slave has not read can only be copied by reading it, which takes it from the task
 * (CRIU reads it and writes it back, which reorders it against a concurrent writer and re-echoes it). The
 * dump leaves it out and says so in its notes; the restored pty starts with empty queues.
 */
final class TtyDumper {
    static final long TIOCGSID = 0x5429;
    static final long FIONREAD = 0x541B;
    static final int ENOTTY = 25;
    static final int EINVAL = 22;
    static final int EIO = 5;
    /** What /proc adds to the link of a slave whose pty is gone (hung up: its devpts node was removed). */
    static final String DELETED = " (deleted)";

    private TtyDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isPath() && f.fileType() == Linux.S_IFCHR
                && (Tty.isPtyMaster(f.stat().rdev()) || Tty.isPtySlave(f.stat().rdev()) || Tty.isCtty(f.stat().rdev()));
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        long rdev = f.stat().rdev();
        if (Tty.isCtty(rdev)) {
            return ctty(ctx);
        }
        boolean master = Tty.isPtyMaster(rdev);
        int fd = ctx.localFd();
        int index;
        if (master) {
            OptionalLong i = f.fdinfo().number("tty-index", 10);
            if (i.isEmpty()) {
                throw new DumpException("pty master " + f.link() + ": its fdinfo has no tty-index line");
            }
            index = (int) i.getAsLong();
        } else {
            index = Tty.slaveIndex(rdev);
        }
        String what = "pty " + (master ? "master" : "slave") + " " + f.link() + " (index " + index + ")";
        int infoId = 2 * index + (master ? 1 : 0);
        AtomicBoolean written = ctx.memo("tty.info:" + infoId, AtomicBoolean::new);
        if (!written.get()) {
            TtyInfoEntry info;
            try {
                info = info(ctx, fd, master, index, infoId, what);
            } catch (SysException e) {
                throw new DumpException(what + ": " + e.getMessage(), e);
            }
            ctx.append(Magic.TTY_INFO, info, null);
            written.set(true);
            unread(ctx, fd, master, what);
        }
        String path = f.link().endsWith(DELETED) ? f.link().substring(0, f.link().length() - DELETED.length()) : f.link();
        long regId = ctx.newId();
        int flags = f.fdinfo().flags() & ~Linux.O_CLOEXEC;
        RegFileEntry.Builder reg = RegFileEntry.newBuilder().setId((int) regId).setFlags(flags).setPos(0)
                .setFown(ctx.fown()).setName(path).setMode(f.stat().mode());
        ctx.addFile(FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) regId).setReg(reg).build());
        TtyFileEntry tty = TtyFileEntry.newBuilder().setId((int) ctx.id()).setTtyInfoId(infoId).setFlags(flags)
                .setFown(ctx.fown()).setRegfId((int) regId).build();
        return FileEntry.newBuilder().setType(FdType.TTY.code()).setId((int) ctx.id()).setTty(tty).build();
    }

    /**
     * An open of /dev/tty, as criu writes it: a CTTY tty-info entry (id {@link Tty#CTTY_INFO_ID}, written
     * once) with the session and foreground group of the holder's controlling terminal (/proc/PID/stat:
     * TIOCGSID answers only inside that session), and the regular-file entry of /dev/tty.
     */
    private static FileEntry ctty(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        AtomicBoolean written = ctx.memo("tty.info:" + Tty.CTTY_INFO_ID, AtomicBoolean::new);
        if (!written.get()) {
            long[] st;
            try {
                String stat = Files.readString(Path.of("/proc", Integer.toString(ctx.pid()), "stat"));
                String[] x = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                st = new long[] {Long.parseLong(x[3]), Math.max(0, Long.parseLong(x[5]))};
            } catch (IOException | RuntimeException e) {
                throw new DumpException("/dev/tty: cannot read /proc/" + ctx.pid() + "/stat: " + e.getMessage(), e);
            }
            ctx.append(Magic.TTY_INFO, TtyInfoEntry.newBuilder().setId(Tty.CTTY_INFO_ID).setType(Tty.TYPE_CTTY)
                    .setLocked(false).setExclusive(false).setPacketMode(false).setSid((int) st[0]).setPgrp((int) st[1])
                    .setRdev((int) f.stat().rdev()).setDev((int) f.stat().dev()).setUid(f.stat().uid())
                    .setGid(f.stat().gid()).build(), null);
            written.set(true);
        }
        int flags = f.fdinfo().flags() & ~Linux.O_CLOEXEC;
        long regId = ctx.newId();
        ctx.addFile(FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) regId).setReg(RegFileEntry.newBuilder()
                .setId((int) regId).setFlags(flags).setPos(0).setFown(ctx.fown()).setName(f.link())
                .setMode(f.stat().mode())).build());
        TtyFileEntry tty = TtyFileEntry.newBuilder().setId((int) ctx.id()).setTtyInfoId(Tty.CTTY_INFO_ID).setFlags(flags)
                .setFown(ctx.fown()).setRegfId((int) regId).build();
        return FileEntry.newBuilder().setType(FdType.TTY.code()).setId((int) ctx.id()).setTty(tty).build();
    }

    private static TtyInfoEntry info(DumpContext ctx, int fd, boolean master, int index, int infoId, String what)
            throws SysException, DumpException {
        LiveFile f = ctx.file();
        int[] session = ctx.memo("tty.session:" + index, () -> new int[] {-1, 0});
        int sid;
        int pgrp;
        synchronized (session) {
            if (master) {
                sid = Math.max(0, optionalInt(fd, TIOCGSID));
                pgrp = sid == 0 ? 0 : Math.max(0, optionalInt(fd, Linux.TIOCGPGRP));
                session[0] = sid;
                session[1] = pgrp;
            } else if (session[0] >= 0) {
                sid = session[0];
                pgrp = session[1];
            } else {
                int[] sp = fromStat(ctx.pid(), f.stat().rdev());
                sid = sp[0];
                pgrp = sp[1];
            }
        }
        byte[] termios = new byte[Termios.SIZE];
        byte[] locked = new byte[Termios.SIZE];
        byte[] ws = new byte[8];
        try {
            Sys.ioctl(fd, Linux.TCGETS, termios);
            Sys.ioctl(fd, Linux.TIOCGLCKTRMIOS, locked);
            Sys.ioctl(fd, Linux.TIOCGWINSZ, ws);
        } catch (SysException e) {
            if (e.errno() == EIO && !master) {
                // Hung up (its master was closed): what criu writes, no termios, window size or session.
                ctx.note(what + ": hung up (its master was closed); restored as such, on a master of its own that is closed again");
                return TtyInfoEntry.newBuilder().setId(infoId).setType(Tty.TYPE_PTY).setLocked(false).setExclusive(false)
                        .setPacketMode(false).setSid(0).setPgrp(0).setRdev((int) f.stat().rdev())
                        .setPty(TtyPtyEntry.newBuilder().setIndex(index)).setDev((int) f.stat().dev())
                        .setUid(f.stat().uid()).setGid(f.stat().gid()).build();
            }
            if (e.errno() == EIO) {
                throw DumpException.unsupported(what + ": the terminal was hung up (" + e.getMessage() + ")");
            }
            throw e;
        }
        return TtyInfoEntry.newBuilder().setId(infoId).setType(Tty.TYPE_PTY)
                .setLocked(master && optionalInt(fd, Linux.TIOCGPTLCK) > 0)
                .setExclusive(optionalInt(fd, Linux.TIOCGEXCL) > 0)
                .setPacketMode(master && optionalInt(fd, Linux.TIOCGPKT) > 0)
                .setSid(sid).setPgrp(pgrp).setRdev((int) f.stat().rdev())
                .setTermios(Termios.decode(termios).toEntry()).setTermiosLocked(Termios.decode(locked).toEntry())
                .setWinsize(Termios.winsize(ws)).setPty(TtyPtyEntry.newBuilder().setIndex(index))
                .setDev((int) f.stat().dev()).setUid(f.stat().uid()).setGid(f.stat().gid()).build();
    }

    /** An int ioctl; -1 when the terminal does not answer it (ENOTTY, EINVAL: not its side, no session). */
    private static int optionalInt(int fd, long request) throws SysException {
        byte[] b = new byte[4];
        try {
            Sys.ioctl(fd, request, b);
        } catch (SysException e) {
            if (e.errno() == ENOTTY || e.errno() == EINVAL) {
                return -1;
            }
            throw e;
        }
        return Tty.intOf(b);
    }

    /** {sid, foreground pgrp} of the pty with {@code rdev} when it is the controlling terminal of {@code pid}. */
    static int[] fromStat(int pid, long rdev) throws DumpException {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        } catch (IOException e) {
            throw new DumpException("cannot read /proc/" + pid + "/stat: " + e.getMessage(), e);
        }
        String[] x = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        // after "pid (comm) ": state ppid pgrp session tty_nr tpgid
        long ttyNr = Long.parseLong(x[4]);
        if (ttyNr != encode(rdev)) {
            return new int[] {0, 0};
        }
        return new int[] {Integer.parseInt(x[3]), Math.max(0, Integer.parseInt(x[5]))};
    }

    /** The kernel's new_encode_dev, as /proc/PID/stat prints tty_nr. */
    static long encode(long rdev) {
        long major = Tty.major(rdev);
        long minor = Tty.minor(rdev);
        return (minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12);
    }

    /** Notes the bytes queued for this side to read, which the dump cannot copy without taking them. */
    private static void unread(DumpContext ctx, int fd, boolean master, String what) {
        byte[] n = new byte[4];
        try {
            Sys.ioctl(fd, FIONREAD, n);
        } catch (SysException e) {
            return;
        }
        int count = Tty.intOf(n);
        if (count > 0) {
            ctx.note(what + ": " + count + " byte(s) " + (master ? "written by the slave side and not read by the"
                    + " master" : "written to the master and not read on the slave") + " are not dumped (a tty"
                    + " cannot be peeked; reading them would take them from the task)");
        }
    }
}
