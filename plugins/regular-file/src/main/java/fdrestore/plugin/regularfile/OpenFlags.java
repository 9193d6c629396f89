package fdrestore.plugin.regularfile;

import fdrestore.api.sys.Linux;

/** The open(2) flags a restore may use for a file, from the flags the image recorded. */
final class OpenFlags {
    /** glibc's {@code __O_TMPFILE}: O_TMPFILE without its O_DIRECTORY bit. */
    static final int O_TMPFILE_BIT = Linux.O_TMPFILE & ~Linux.O_DIRECTORY;

    private OpenFlags() {
    }

    /**
     * The image's {@code f_flags} minus what creates, truncates or belongs to the fd rather than the file:
     * O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE and O_CLOEXEC (fd flags are the engine's job). Nothing is added:
     * the restored {@code f_flags} are the image's (a directory opened without O_DIRECTORY stays so); the
     * type of what a path names is checked with fstat on an O_PATH fd before it is opened.
     */
    static int forOpen(int imageFlags) {
        int f = imageFlags;
        if ((f & Linux.O_TMPFILE) == Linux.O_TMPFILE) {
            f &= ~Linux.O_TMPFILE;
        }
        f &= ~(O_TMPFILE_BIT | Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_CLOEXEC);
        return f;
    }

    /**
     * The flags of the O_PATH open that resolves a file before it is opened for real: it opens nothing (no
     * FIFO wait, no device driver), and keeps the image's O_NOFOLLOW and O_DIRECTORY, which decide what the
     * path may name.
     */
    static int forPath(int flags) {
        return Linux.O_PATH | (flags & (Linux.O_NOFOLLOW | Linux.O_DIRECTORY));
    }

    /** True if the flags open an O_PATH fd (no position, no owner, no I/O). */
    static boolean isPath(int flags) {
        return (flags & Linux.O_PATH) != 0;
    }
}
