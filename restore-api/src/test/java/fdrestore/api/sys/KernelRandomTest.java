package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Kernel random numbers: every bit varies and no value repeats (a stuck or short read would show). */
class KernelRandomTest {
    @Test
    void everyBitVariesAndNoValueRepeats() {
        Set<Long> seen = new HashSet<>();
        long ones = 0;
        long zeros = 0;
        for (int i = 0; i < 2000; i++) {
            long v = KernelRandom.nextLong();
            seen.add(v);
            ones |= v;
            zeros |= ~v;
        }
        assertEquals(2000, seen.size(), "64-bit values repeated");
        assertEquals(-1L, ones, "a bit never set: " + Long.toBinaryString(~ones));
        assertEquals(-1L, zeros, "a bit never clear: " + Long.toBinaryString(~zeros));
        assertTrue(seen.stream().anyMatch(v -> v >>> 32 != 0) && seen.stream().anyMatch(v -> (int) (long) v != 0));
    }
}
