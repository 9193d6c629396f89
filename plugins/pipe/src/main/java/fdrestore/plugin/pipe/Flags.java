package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_APPEND;
import static fdrestore.api.sys.Linux.O_ASYNC;
import static fdrestore.api.sys.Linux.O_DIRECT;
import static fdrestore.api.sys.Linux.O_DSYNC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NOATIME;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.O_SYNC;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.api.sys.Linux.O_ACCMODE;
import static fdrestore.api.sys.Linux.O_APPEND;
import static fdrestore.api.sys.Linux.O_DSYNC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NOATIME;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.O_SYNC;
import static fdrestore.api.sys.Linux.O_WRONLY;


/** Flag arithmetic and small fd helpers shared by the pipe and FIFO restorers. */
final class Flags {
    /** The default capacity of a pipe (16 pages), when the image does not record one. */
    static final int DEFAULT_PIPE_SIZE = 65536;

    /** Flags of an image entry that an open(2) of an existing FIFO may pass on (never create or truncate). */
    static final int FIFO_OPEN_MASK = O_ACCMODE | O_NONBLOCK | O_APPEND | O_LARGEFILE | O_NOATIME | O_DSYNC | O_SYNC;

    private Flags() {
    }

    /** Which end of a pipe a description is, from its open flags. */
    enum End {
        READ, WRITE, RDWR;

        static End of(int flags) {
            return switch (flags & O_ACCMODE) {
                case O_RDONLY -> READ;
                case O_WRONLY -> WRITE;
                case O_RDWR -> RDWR;
                default -> throw new IllegalArgumentException("invalid access mode in flags 0" + Integer.toOctalString(flags));
            };
        }

        /** The index into pipe(2)'s result whose description this end reopens from. */
        int pipeIndex() {
            return this == WRITE ? 1 : 0;
        }

        int accessMode() {
            return switch (this) {
                case READ -> O_RDONLY;
                case WRITE -> O_WRONLY;
                case RDWR -> O_RDWR;
            };
        }
    }

    /** The path that reaches fd {@code fd} of the calling task table (never /proc/self: the JVM's table). */
    static String procFd(int fd) {
        return "/proc/thread-self/fd/" + fd;
    }

    static String octal(int flags) {
        return "0" + Integer.toOctalString(flags);
    }
}
