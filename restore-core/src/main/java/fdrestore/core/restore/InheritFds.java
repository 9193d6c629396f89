package fdrestore.core.restore;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --inherit-fd fd[N]:KEY}, as criu spells and means it: the file of the images that criu names KEY
 * is not restored but taken from fd N of the caller (this process), every fd of that file sharing the
 * caller's open file description. The keys are criu's names of files ({@code inherited_fd}), which each
 * kind gives for its files ({@link FileKind#inheritKey}): {@code pipe:[PIPE_ID]}, {@code socket:[INO]} (unix
 * and inet), {@code tty[RDEV:DEV]} (hex), the path of a regular file without its leading slash (with it too,
 * here), and the name criu stored for a file dumped as external ({@code --external file[MNT_ID:INODE]}).
 *
 * <p>A file its kind holds only the name of ({@link FileKind#inheritOnly}, such an external file) has
 * nothing to restore it from: without a mapping the restore fails before any syscall ({@link #unmapped}).
 */
public final class InheritFds {
    private static final Pattern SPEC = Pattern.compile("fd\\[(\\d{1,9})\\]:(.+)", Pattern.DOTALL);

    private final Map<String, Integer> byKey;

    private InheritFds(Map<String, Integer> byKey) {
        this.byKey = byKey;
    }

    /** No mapping. */
    public static InheritFds none() {
        return new InheritFds(Map.of());
    }

    /**
     * Parses {@code fd[N]:KEY} options; a malformed one, or one key given twice, is an
     * {@link IllegalArgumentException} with a one-line message.
     */
    public static InheritFds parse(Iterable<String> specs) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String s : specs) {
            Matcher x = SPEC.matcher(s);
            if (!x.matches()) {
                throw new IllegalArgumentException("--inherit-fd '" + s + "': expected fd[N]:KEY, for example"
                        + " fd[3]:pipe:[12345], fd[5]:socket:[678], fd[7]:tty[8800:6] or fd[4]:tmp/log");
            }
            int fd = Integer.parseInt(x.group(1));
            String key = normal(x.group(2));
            Integer prev = m.putIfAbsent(key, fd);
            if (prev != null) {
                throw new IllegalArgumentException("--inherit-fd '" + s + "': " + x.group(2) + " is already mapped to fd " + prev);
            }
        }
        return new InheritFds(m);
    }

    /** Key to the caller's fd, in the order given. */
    public Map<String, Integer> byKey() {
        return java.util.Collections.unmodifiableMap(byKey);
    }

    public boolean isEmpty() {
        return byKey.isEmpty();
    }

    /** A path key is compared without its leading slashes: criu's keys have none, a user may write one. */
    private static String normal(String key) {
        int i = 0;
        while (key.startsWith("/", i)) {
            i++;
        }
        return i > 0 && i < key.length() ? key.substring(i) : key;
    }

    /**
     * criu's name of {@code file} (its inherit-fd key) as the kind of {@code kinds} that restores it gives it
     * ({@link FileKind#inheritKey}), without leading slashes; empty when there is no such kind or it gives none.
     */
    public static Optional<String> key(FileEntry file, ImageSet images, Map<FdType, ? extends FileKind> kinds) {
        FileKind k = kinds.get(FdType.of(file.getType()));
        String key = k == null ? null : k.inheritKey(file, images);
        return key == null ? Optional.empty() : Optional.of(normal(key));
    }

    /** The caller's fd mapped to {@code file}, or null. */
    public Integer fdFor(FileEntry file, ImageSet images, Map<FdType, ? extends FileKind> kinds) {
        if (byKey.isEmpty()) {
            return null;
        }
        return key(file, images, kinds).map(byKey::get).orElse(null);
    }

    /**
     * Why {@code file} cannot be restored without a mapping, or null: its kind holds only its name
     * ({@link FileKind#inheritOnly}, a file criu dumped as external) and no {@code --inherit-fd} maps it.
     */
    public String unmapped(FileEntry file, ImageSet images, Map<FdType, ? extends FileKind> kinds) {
        FileKind k = kinds.get(FdType.of(file.getType()));
        if (k == null || !k.inheritOnly(file) || fdFor(file, images, kinds) != null) {
            return null;
        }
        String key = k.inheritKey(file, images);
        return "external file " + key + " (dumped with criu --external) has no --inherit-fd"
                + " mapping: give one with --inherit-fd fd[N]:" + (key == null ? "KEY" : normal(key));
    }

    /** The restorer of a mapped file: a copy of the caller's fd, at once. */
    static FileRestorer restorer(int jvmFd, String key) {
        return new FileRestorer() {
            @Override
            public OpenResult open(OpenContext ctx) throws Exception {
                try {
                    return OpenResult.done(ctx.table().adopt(jvmFd));
                } catch (SysException e) {
                    throw new IOException("--inherit-fd fd[" + jvmFd + "]:" + key + ": " + e.getMessage(), e);
                }
            }

            @Override
            public String toString() {
                return "inherited " + key + " (fd " + jvmFd + " of fdrestore)";
            }
        };
    }
}
