package fdrestore.api.image;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * One-line, human descriptions of file entries, for {@code show}, errors and reports: each kind describes
 * its own files ({@code FileKind.describe}); here are the parts they share (open flags, socket names,
 * addresses) and the line for a file no kind describes.
 */
public final class Describe {
    private static final String[] ACC = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    private static final int[] FLAG_BITS = {0100, 0200, 01000, 02000, 04000, 010000, 020000, 040000, 0100000,
        0200000, 0400000, 01000000, 02000000, 010000000, 020000000};
    private static final String[] FLAG_NAMES = {"O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC",
        "O_ASYNC", "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH",
        "O_TMPFILE"};

    private Describe() {
    }

    /** "O_RDWR|O_APPEND|O_LARGEFILE" for open flags. */
    public static String openFlags(int flags) {
        StringBuilder sb = new StringBuilder(ACC[flags & 3]);
        int rest = flags & ~3;
        for (int i = 0; i < FLAG_BITS.length; i++) {
            if ((rest & FLAG_BITS[i]) == FLAG_BITS[i] && FLAG_BITS[i] != 0) {
                sb.append('|').append(FLAG_NAMES[i]);
                rest &= ~FLAG_BITS[i];
            }
        }
        if (rest != 0) {
            sb.append("|0").append(Integer.toOctalString(rest));
        }
        return sb.toString();
    }

    /** The kind of a file entry, as CRIU names it (REG, PIPE ...), or "type N" when unknown. */
    public static String kind(FileEntry f) {
        FdType t = FdType.of(f.getType());
        return t == null ? "type " + f.getType() : t.name();
    }

    /**
     * The description of a file whose kind describes none (or is not loaded): its kind and that fdrestore
     * does not describe it. Each kind describes its own files ({@code FileKind.describe}).
     */
    public static String file(ImageSet images, FileEntry f) {
        return kind(f) + " (not described by fdrestore)";
    }

    /** A unix socket name: "@name" for abstract names, the path otherwise. */
    public static String sockName(byte[] name) {
        if (name.length > 0 && name[0] == 0) {
            return "@" + printable(name, 1, name.length);
        }
        int end = name.length;
        while (end > 0 && name[end - 1] == 0) {
            end--;
        }
        return printable(name, 0, end);
    }

    private static String printable(byte[] b, int from, int to) {
        String s = new String(b, from, to - from, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** An address from CRIU's repeated u32 words (network byte order in memory). */
    public static String addr(List<Integer> words, int family) {
        byte[] b = new byte[words.size() * 4];
        for (int i = 0; i < words.size(); i++) {
            int w = words.get(i);
            b[4 * i] = (byte) w;
            b[4 * i + 1] = (byte) (w >>> 8);
            b[4 * i + 2] = (byte) (w >>> 16);
            b[4 * i + 3] = (byte) (w >>> 24);
        }
        if (family == 2) {
            return (b.length >= 4 ? (b[0] & 255) + "." + (b[1] & 255) + "." + (b[2] & 255) + "." + (b[3] & 255) : "?");
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i + 1 < b.length; i += 2) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Integer.toHexString(((b[i] & 255) << 8) | (b[i + 1] & 255)));
        }
        return sb.append(']').toString();
    }
}
