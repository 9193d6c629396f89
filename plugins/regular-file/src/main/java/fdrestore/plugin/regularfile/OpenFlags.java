package fdrestore.plugin.regularfile;

import fdrestore.core.sys.Linux;

/** The open(2) flags a restore may use for a file, from the flags the image recorded. */
final class OpenFlags {
    /** glibc's {@code __O_TMPFILE}: O_TMPFILE without its O_DIRECTORY bit. */
    static final int O_TMPFILE_BIT = Linux.O_TMPFILE & ~Linux.O_DIRECTORY;

    private OpenFlags() {
    }

    /**
     * The image's {@code f_flags} minus what creates, truncates or belongs to the fd rather than the file:
     * O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE and O_CLOEXEC (fd flags are the engine's job). Directories get
     * O_DIRECTORY, so that a path that is no longer a directory fails to open.
     */
    static int forOpen(int imageFlags, boolean directory) {
        int f = imageFlags;
        if ((f & Linux.O_TMPFILE) == Linux.O_TMPFILE) {
            f &= ~Linux.O_TMPFILE;
        }
        f &= ~(O_TMPFILE_BIT | Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_CLOEXEC);
        if (directory) {
            f |= Linux.O_DIRECTORY;
        }
        return f;
    }

    /** True if the flags open an O_PATH fd (no position, no owner, no I/O). */
    static boolean isPath(int flags) {
        return (flags & Linux.O_PATH) != 0;
    }
}
