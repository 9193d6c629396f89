package fdrestore.plugin.pipe;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dump side of pipes and FIFOs. A pipe end is a {@code PipeEntry} (pipe_id = the pipe's inode, the
 * open flags); an opened FIFO is a {@code FifoEntry} plus the regular-file entry of its path and flags
 * ({@code regf_id}), as CRIU writes them. The queued data of each pipe (once per inode, whichever end is
 * dumped first) goes to pipes-data.img or fifo-data.img with the pipe's capacity (F_GETPIPE_SZ).
 *
 * <p>The data is copied without consuming it: a fresh read end is opened through
 * {@code /proc/self/fd/N} of the pidfd_getfd copy, and tee(2) duplicates its buffers into a private
 * pipe of the same capacity, which is then read. Reading the fresh read end itself would take the data
 * away from the task.
 */
final class PipeDumper {
    /** SPLICE_F_NONBLOCK. */
    static final int SPLICE_F_NONBLOCK = 2;

    private PipeDumper() {
    }

    static boolean dumpsPipe(LiveFile f) {
        return f.isPipe();
    }

    static boolean dumpsFifo(LiveFile f) {
        return f.isPath() && f.fileType() == Linux.S_IFIFO;
    }

    static FileEntry dumpPipe(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        long ino = f.stat().ino();
        PipeEntry pipe = PipeEntry.newBuilder().setId((int) ctx.id()).setPipeId((int) ino)
                .setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC).setFown(ctx.fown()).build();
        if (first(ctx, "pipe.data:" + f.stat().dev() + ":" + ino)) {
            data(ctx, Magic.PIPES_DATA, "pipe " + ino);
        }
        return FileEntry.newBuilder().setType(FdType.PIPE.code()).setId((int) ctx.id()).setPipe(pipe).build();
    }

    static FileEntry dumpFifo(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        long ino = f.stat().ino();
        String path = f.link();
        if (f.stat().nlink() == 0 || path.endsWith(" (deleted)")) {
            throw DumpException.unsupported("fifo " + path + " was unlinked while open (a deleted fifo cannot be reopened)");
        }
        long regId = ctx.newId();
        RegFileEntry.Builder reg = RegFileEntry.newBuilder().setId((int) regId)
                .setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC).setPos(0).setFown(ctx.fown()).setName(path)
                .setMode(f.stat().mode());
        if (f.fdinfo().mntId() >= 0) {
            reg.setMntId(f.fdinfo().mntId());
        }
        ctx.addFile(FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) regId).setReg(reg).build());
        FifoEntry fifo = FifoEntry.newBuilder().setId((int) ctx.id()).setPipeId((int) ino).setRegfId((int) regId).build();
        if (first(ctx, "fifo.data:" + f.stat().dev() + ":" + ino)) {
            data(ctx, Magic.FIFO_DATA, "fifo " + path + " (pipe " + ino + ")");
        }
        return FileEntry.newBuilder().setType(FdType.FIFO.code()).setId((int) ctx.id()).setFifo(fifo).build();
    }

    /** True the first time {@code key} is asked in this dump. */
    private static boolean first(DumpContext ctx, String key) {
        AtomicBoolean flag = ctx.memo(key, AtomicBoolean::new);
        return flag.compareAndSet(false, true);
    }

    /** Copies the queued bytes without consuming them and appends the data entry. */
    static void data(DumpContext ctx, Magic magic, String what) throws DumpException {
        long ino = ctx.file().stat().ino();
        int size;
        int avail;
        int rfd = ctx.reopen(Linux.O_RDONLY | Linux.O_NONBLOCK);
        try {
            size = (int) Sys.fcntl(ctx.localFd(), Linux.F_GETPIPE_SZ, 0);
            byte[] n = new byte[4];
            Sys.ioctl(rfd, Linux.FIONREAD, n);
            avail = (n[0] & 0xff) | (n[1] & 0xff) << 8 | (n[2] & 0xff) << 16 | (n[3] & 0xff) << 24;
        } catch (SysException e) {
            throw new DumpException(what + ": " + e.getMessage(), e);
        }
        byte[] data = new byte[0];
        if (avail > 0) {
            data = copy(rfd, size, avail, what);
        }
        ctx.append(magic, PipeDataEntry.newBuilder().setPipeId((int) ino).setBytes(data.length).setSize(size).build(),
                data);
    }

    private static byte[] copy(int rfd, int size, int avail, String what) throws DumpException {
        int[] steal = null;
        try {
            steal = Sys.pipe2(Linux.O_CLOEXEC | Linux.O_NONBLOCK);
            if ((int) Sys.fcntl(steal[1], Linux.F_GETPIPE_SZ, 0) < size) {
                Sys.fcntl(steal[1], Linux.F_SETPIPE_SZ, size);
            }
            long got = Sys.tee(rfd, steal[1], size, SPLICE_F_NONBLOCK);
            if (got < 0) {
                got = 0;
            }
            if (got != avail) {
                throw new DumpException(what + ": tee copied " + got + " of the " + avail + " queued bytes (the data"
                        + " changed during the dump; --freeze stops the tree while it is dumped)");
            }
            byte[] out = new byte[(int) got];
            int off = 0;
            while (off < out.length) {
                int r = Sys.read(steal[0], out, off, out.length - off);
                if (r <= 0) {
                    throw new DumpException(what + ": short read of the copied data (" + off + " of " + out.length + ")");
                }
                off += r;
            }
            return out;
        } catch (SysException e) {
            throw new DumpException(what + ": copying the queued data: " + e.getMessage(), e);
        } finally {
            if (steal != null) {
                Sys.closeQuietly(steal[0]);
                Sys.closeQuietly(steal[1]);
            }
        }
    }
}
