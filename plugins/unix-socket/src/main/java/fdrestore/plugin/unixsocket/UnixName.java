package fdrestore.plugin.unixsocket;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The name of a unix socket as the image stores it ({@code UnixSkEntry.name}: the sun_path bytes).
 * Abstract names start with a NUL byte and have no trailing NUL; path names end with one NUL.
 */
final class UnixName {
    /** sizeof(sun_path). */
    static final int SUN_PATH_MAX = 108;
    private static final byte[] EMPTY = new byte[0];
    static final UnixName NONE = new UnixName(EMPTY);

    private final byte[] raw;

    private UnixName(byte[] raw) {
        this.raw = raw;
    }

    static UnixName of(byte[] raw) {
        return raw == null || raw.length == 0 ? NONE : new UnixName(raw.clone());
    }

    boolean isEmpty() {
        return raw.length == 0;
    }

    boolean isAbstract() {
        return raw.length > 0 && raw[0] == 0;
    }

    boolean isPath() {
        return raw.length > 0 && raw[0] != 0;
    }

    /** The path of a path name, without its trailing NUL. */
    String path() {
        if (!isPath()) {
            throw new IllegalStateException("not a path name: " + this);
        }
        int end = raw.length;
        while (end > 0 && raw[end - 1] == 0) {
            end--;
        }
        return new String(raw, 0, end, StandardCharsets.UTF_8);
    }

    /** The raw {@code struct sockaddr_un} of an abstract name (family + the name bytes, no trailing NUL). */
    byte[] abstractAddress() {
        if (!isAbstract()) {
            throw new IllegalStateException("not an abstract name: " + this);
        }
        return sockaddr(raw, false);
    }

    /** A {@code struct sockaddr_un} for {@code sunPath} (AF_UNIX little endian, then the bytes, then NUL). */
    static byte[] sockaddr(byte[] sunPath, boolean nul) {
        byte[] a = new byte[2 + sunPath.length + (nul ? 1 : 0)];
        a[0] = 1; // AF_UNIX, little endian u16
        System.arraycopy(sunPath, 0, a, 2, sunPath.length);
        return a;
    }

    /** A {@code struct sockaddr_un} for the file system path {@code path}; null when it does not fit sun_path. */
    static byte[] pathAddress(String path) {
        byte[] b = path.getBytes(StandardCharsets.UTF_8);
        if (b.length + 1 > SUN_PATH_MAX) {
            return null;
        }
        return sockaddr(b, true);
    }

    /**
     * Checks, without touching the file system, that a path name stays under the root once made relative
     * to it ("/../x" or "a/../../x" does not). Returns a reason when it does not, null when it does.
     */
    String escapesRoot(String nameDir) {
        String p = path();
        if (!p.startsWith("/")) {
            if (nameDir == null || nameDir.isEmpty()) {
                return "the relative name " + p + " has no directory (name_dir) to resolve it against";
            }
            p = nameDir + "/" + p;
        }
        Path base = Path.of("/root-of-restore");
        Path lexical = base.resolve(stripSlashes(p)).normalize();
        if (!lexical.startsWith(base) || lexical.equals(base)) {
            return "the path " + p + " leaves the root";
        }
        return null;
    }

    /** The absolute image path of a path name (a relative one resolved against {@code nameDir}). */
    String absolutePath(String nameDir) {
        String p = path();
        return p.startsWith("/") ? p : nameDir + "/" + p;
    }

    static String stripSlashes(String p) {
        int i = 0;
        while (i < p.length() && p.charAt(i) == '/') {
            i++;
        }
        return i == p.length() ? "." : p.substring(i);
    }

    byte[] raw() {
        return raw.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnixName n && Arrays.equals(n.raw, raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    /** "@name" for an abstract name (NULs inside shown as @), the path for a path name, "(unnamed)" else. */
    @Override
    public String toString() {
        if (raw.length == 0) {
            return "(unnamed)";
        }
        if (isAbstract()) {
            StringBuilder sb = new StringBuilder();
            for (byte b : raw) {
                sb.append(b == 0 ? '@' : (char) (b & 0xff));
            }
            return sb.toString();
        }
        return path();
    }
}
