package fdrestore.api.sys;

import java.nio.charset.StandardCharsets;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.LibraryOption;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Loads the {@link LibC} binding once per JVM. Sets {@code jnr.ffi.x86asm.enabled=false} first when it is
 * unset (jnr-ffi issue 181: garbage in the 6th argument of 6-integer-argument calls), so this class must
 * be initialised before anything else in the JVM touches jnr-ffi; the launchers also pass the property.
 */
public final class Native {
    private static final String X86ASM = "jnr.ffi.x86asm.enabled";
    private static final LibC LIBC;
    private static final Runtime RUNTIME;

    static {
        if (System.getProperty(X86ASM) == null) {
            System.setProperty(X86ASM, "false");
        }
        String name = Platform.getNativePlatform().getStandardCLibraryName();
        LIBC = LibraryLoader.create(LibC.class)
                .option(LibraryOption.LoadNow, Boolean.TRUE)
                .option(LibraryOption.SaveError, Boolean.TRUE)
                .failImmediately()
                .load(name);
        RUNTIME = Runtime.getRuntime(LIBC);
    }

    private Native() {
    }

    /** The binding. */
    public static LibC libc() {
        return LIBC;
    }

    /** The jnr runtime of the binding. */
    public static Runtime runtime() {
        return RUNTIME;
    }

    /** errno saved by the last bound call of this thread. */
    public static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    /** Zeroed native memory, freed when the returned pointer becomes unreachable. Keep a reference. */
    public static Pointer allocate(long size) {
        return Memory.allocateDirect(RUNTIME, Math.max(1L, size), true);
    }

    /** A NUL-terminated UTF-8 copy of {@code s}; refuses embedded NULs. */
    public static byte[] cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
            if (x == 0) {
                throw new IllegalArgumentException("string contains NUL: " + quote(s));
            }
        }
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }

    /** Native memory holding {@link #cString}. */
    public static Pointer allocateString(String s) {
        byte[] z = cString(s);
        Pointer p = allocate(z.length);
        p.put(0, z, 0, z.length);
        return p;
    }

    /** "\"/x\"" with non-printables escaped, for error messages. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') {
                sb.append('\\').append(ch);
            } else if (ch < 0x20 || ch == 0x7f) {
                sb.append(String.format("\\x%02x", (int) ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.append('"').toString();
    }

    /** A raw sockaddr for messages: abstract unix names shown with a leading '@'. */
    public static String sockaddr(byte[] addr) {
        if (addr == null) {
            return "NULL";
        }
        if (addr.length >= 2) {
            int family = (addr[0] & 0xff) | ((addr[1] & 0xff) << 8);
            if (family == Linux.AF_UNIX) {
                StringBuilder sb = new StringBuilder("{AF_UNIX, ");
                int start = 2;
                if (addr.length > 2 && addr[2] == 0) {
                    sb.append('@');
                    start = 3;
                }
                int end = start;
                while (end < addr.length && (addr[end] != 0 || start == 3)) {
                    end++;
                }
                sb.append(new String(addr, start, end - start, StandardCharsets.UTF_8)
                        .replace('\0', '@'));
                return sb.append('}').toString();
            }
            return "{family " + family + ", " + addr.length + " bytes}";
        }
        return "{" + addr.length + " bytes}";
    }
}
