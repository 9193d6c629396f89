package fdrestore.api.sys;

import java.security.SecureRandom;
import jnr.ffi.Pointer;

/**
 * Unpredictable random numbers from the kernel's getrandom(2), for names another process must not guess
 * (run ids, cgroups, journals, temporary socket paths). It is the source {@link SecureRandom} reads on
 * Linux too, without initialising the JCA providers first: that took about 15 ms of every cold restore.
 * Falls back to {@link SecureRandom} when the call fails (a kernel older than 3.17).
 */
public final class KernelRandom {
    private static volatile SecureRandom fallback;

    private KernelRandom() {
    }

    /** 64 random bits. */
    public static long nextLong() {
        Pointer p = Native.allocate(8);
        if (Native.libc().syscall(Linux.SYS_GETRANDOM, p.address(), 8L, 0L) == 8L) {
            return p.getLong(0);
        }
        SecureRandom r = fallback;
        if (r == null) {
            r = new SecureRandom();
            fallback = r;
        }
        return r.nextLong();
    }
}
