package fdrestore.api.spi;

import fdrestore.api.sys.Linux;
import java.util.List;

/**
 * The checks of a restored fd that several kinds' {@link FileKind#verify} make alike: what its
 * /proc/PID/fd link shows, its open flags and its position. Each adds one readable line per mismatch.
 */
public final class FdChecks {
    /** Flags compared between image and kernel (access mode, append, non-blocking, path, direct, noatime). */
    public static final int COMPARED = Linux.O_ACCMODE | Linux.O_APPEND | Linux.O_NONBLOCK | Linux.O_PATH
            | 040000 /* O_DIRECT */ | 01000000 /* O_NOATIME */;

    private FdChecks() {
    }

    /** The link is {@code expected}, or starts with it (a prefix such as "socket:["). */
    public static void link(List<String> out, String link, String expected) {
        if (!link.startsWith(expected) && !link.equals(expected)) {
            out.add("is " + link + ", expected " + expected);
        }
    }

    /** The open flags of {@link #COMPARED} are the image's. */
    public static void openFlags(List<String> out, int imageFlags, Fdinfo fdinfo) {
        int flags = fdinfo.number("flags", 8).isPresent() ? fdinfo.flags() : 0;
        if ((imageFlags & COMPARED) != (flags & COMPARED)) {
            out.add("open flags 0" + Integer.toOctalString(flags & COMPARED) + ", expected 0"
                    + Integer.toOctalString(imageFlags & COMPARED));
        }
    }

    /** The file position is the image's. */
    public static void position(List<String> out, long imagePos, Fdinfo fdinfo) {
        long pos = fdinfo.pos();
        if (pos != imagePos) {
            out.add("position " + pos + ", expected " + imagePos);
        }
    }
}
