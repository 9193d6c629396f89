package fdrestore.plugin.memfd;

import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One memfd inode of a restore, shared by every file description of it (in any task). Made once, in the
 * JVM's own table, by the first of its files to open: memfd_create with the image's name, ftruncate to its
 * size, its contents written page run by page run from the pages image, owner and mode, then its seals
 * (an inode sealed with F_SEAL_SEAL alone is made without MFD_ALLOW_SEALING, which seals it so). Each file
 * then takes its own description of it (see {@link MemfdRestorer}). The JVM's fd is closed when every file
 * of the inode has opened or been aborted, or at once when making it fails.
 */
final class Inode {
    static final int MFD_CLOEXEC = 1;
    static final int MFD_ALLOW_SEALING = 2;
    static final int F_ADD_SEALS = 1033;
    static final int F_SEAL_SEAL = 1;
    static final int CHUNK = 1 << 20;

    private final MemfdInodeEntry e;
    private final Contents contents;
    private final Runnable forget;
    private int users;
    private int fd = -1;
    private boolean originalTaken;
    private boolean discarded;

    Inode(MemfdInodeEntry e, Contents contents, Runnable forget) {
        this.e = e;
        this.contents = contents;
        this.forget = forget;
    }

    MemfdInodeEntry entry() {
        return e;
    }

    /** One more file of this restore uses the inode (at plan time). */
    synchronized void use() {
        users++;
    }

    /** The inode's fd in the JVM's table, made on the first call. */
    synchronized int fd() throws IOException {
        if (fd >= 0) {
            return fd;
        }
        if (discarded) {
            throw new IOException(this + ": another file of this inode failed to open");
        }
        int flags = MFD_CLOEXEC | (e.getSeals() == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING);
        int made;
        try {
            made = (int) Syscalls.local("memfd_create", e.getName(), flags);
        } catch (SysException x) {
            throw new IOException(this + ": " + x.getMessage(), x);
        }
        String step = "ftruncate to " + e.getSize() + " bytes (field size)";
        try {
            Syscalls.local("ftruncate", made, e.getSize());
            step = "writing its contents from " + (contents.pages() == null ? "" : contents.pages().getFileName());
            write(made);
            Path self = Path.of("/proc/self/fd/" + made);
            if (e.hasMode()) {
                step = "chmod 0" + Integer.toOctalString(e.getMode() & 07777) + " (field mode)";
                Files.setAttribute(self, "unix:mode", e.getMode() & 07777);
            }
            step = "chown " + Integer.toUnsignedString(e.getUid()) + ":" + Integer.toUnsignedString(e.getGid());
            if (e.getUid() != (int) Files.getAttribute(self, "unix:uid")
                    || e.getGid() != (int) Files.getAttribute(self, "unix:gid")) {
                Files.setAttribute(self, "unix:uid", e.getUid());
                Files.setAttribute(self, "unix:gid", e.getGid());
            }
            if (e.getSeals() != F_SEAL_SEAL && e.getSeals() != 0) {
                step = "F_ADD_SEALS 0x" + Integer.toHexString(e.getSeals()) + " (field seals)";
                Syscalls.local("fcntl", made, F_ADD_SEALS, e.getSeals());
            }
        } catch (IOException | RuntimeException x) {
            IOException failure = new IOException(this + ": " + step + ": " + x.getMessage(), x);
            try {
                Syscalls.closeLocal(made);
            } catch (SysException c) {
                failure.addSuppressed(c);
            }
            throw failure;
        }
        fd = made;
        return fd;
    }

    private void write(int to) throws IOException {
        if (contents.runs().isEmpty()) {
            return;
        }
        try (FileChannel in = FileChannel.open(contents.pages(), StandardOpenOption.READ)) {
            byte[] buf = new byte[CHUNK];
            for (Contents.Run r : contents.runs()) {
                long len = Math.min(r.length(), e.getSize() - r.fileOffset()); // the last page may pass the end
                for (long done = 0; done < len;) {
                    int n = (int) Math.min(CHUNK, len - done);
                    ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                    while (b.hasRemaining()) {
                        if (in.read(b, r.pagesOffset() + done + b.position()) < 0) {
                            throw new IOException(contents.pages().getFileName() + " ends early");
                        }
                    }
                    for (int w = 0; w < n;) {
                        byte[] part = w == 0 ? buf : java.util.Arrays.copyOfRange(buf, w, n);
                        long wrote = Syscalls.local("pwrite64", to, part, n - w, r.fileOffset() + done + w);
                        if (wrote <= 0) {
                            throw new IOException("pwrite64 wrote nothing at offset " + (r.fileOffset() + done + w));
                        }
                        w += (int) wrote;
                    }
                    done += n;
                }
            }
        }
    }

    /**
     * Takes the fd memfd_create made, for the first read-write file (criu gives it the original, so that
     * execveat(AT_EMPTY_PATH) of it still works); false once taken.
     */
    synchronized boolean takeOriginal() {
        if (originalTaken) {
            return false;
        }
        originalTaken = true;
        return true;
    }

    /**
     * A file of the inode failed to open: the restore is over, so the JVM's fd is closed now rather than
     * when the inode's other files are aborted.
     */
    synchronized void discard() {
        discarded = true;
        closeFd();
    }

    private void closeFd() {
        if (fd >= 0) {
            try {
                Syscalls.closeLocal(fd);
            } catch (SysException ignored) {
                // the fd was this inode's own: nothing else can have closed it
            }
            fd = -1;
        }
    }

    /** A file of the inode is done with it (opened, failed or aborted); the last one closes the JVM's fd. */
    synchronized void release() {
        if (--users > 0) {
            return;
        }
        closeFd();
        forget.run();
    }

    @Override
    public String toString() {
        return "memfd inode " + Long.toUnsignedString(e.getInodeId()) + " (\"" + e.getName() + "\", " + e.getSize()
                + " bytes)";
    }
}
