package fdrestore.api.sys;

import com.kenai.jffi.MemoryIO;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Binds {@link LibC} once per JVM ({@link DirectLibC}, straight over jffi) and gives jnr-ffi's runtime for
 * native memory. Sets {@code jnr.ffi.x86asm.enabled=false} first when it is unset (jnr-ffi issue 181:
 * garbage in the 6th argument of 6-integer-argument calls), so this class must be initialised before
 * anything else in the JVM touches jnr-ffi; the launchers also pass the property.
 */
public final class Native {
    private static final String X86ASM = "jnr.ffi.x86asm.enabled";
    private static final LibC LIBC;
    private static final Runtime RUNTIME;
    private static final MemoryIO MEMORY = MemoryIO.getInstance();
    private static final Cleaner FREE = Cleaner.create();

    static {
        if (System.getProperty(X86ASM) == null) {
            System.setProperty(X86ASM, "false");
        }
        String name = Platform.getNativePlatform().getStandardCLibraryName();
        LIBC = new DirectLibC(name);
        RUNTIME = Runtime.getSystemRuntime();
    }

    private Native() {
    }

    /** The binding. */
    public static LibC libc() {
        return LIBC;
    }

    /** jnr-ffi's runtime, for native memory ({@link #allocate}). */
    public static Runtime runtime() {
        return RUNTIME;
    }

    /** errno saved by the last bound call of this thread. */
    public static int errno() {
        return com.kenai.jffi.LastError.getInstance().get();
    }

    /**
     * Zeroed native memory, freed when the returned pointer becomes unreachable. Keep a reference to this
     * pointer itself for as long as the memory is used: a slice of it does not keep the memory alive.
     *
     * <p>malloc'd by jffi and freed through a {@link Cleaner}, not jnr-ffi's auto-released memory: that
     * one starts its finalizer thread by defining a class in a class loader of its own, about 40 ms of a
     * cold start that no archive can hold.
     */
    public static Pointer allocate(long size) {
        long n = Math.max(1L, size);
        long address = MEMORY.allocateMemory(n, true);
        if (address == 0L) {
            throw new OutOfMemoryError("cannot allocate " + n + " bytes of native memory");
        }
        Pointer p = Pointer.wrap(RUNTIME, address, n);
        FREE.register(p, new Free(address));
        return p;
    }

    /** Frees one allocation; holds its address, never the pointer (that would keep it reachable). */
    private static final class Free implements Runnable {
        private final long address;

        Free(long address) {
            this.address = address;
        }

        @Override
        public void run() {
            MEMORY.freeMemory(address);
        }
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
