package fdrestore.core.engine;

/**
 * Transport tags: what a received fd is for. The top bits say the kind, the rest an index.
 * A fd slot tag plants the fd at that slot's number; a hand-off tag gives it to a file's master.
 */
final class Tags {
    static final long FLE = 1L << 60;
    static final long HANDOFF = 2L << 60;
    private static final long KIND_MASK = 0xFL << 60;
    private static final long INDEX_MASK = (1L << 32) - 1;

    private Tags() {
    }

    static long fle(int index) {
        return FLE | index;
    }

    static long handOff(int descIndex) {
        return HANDOFF | descIndex;
    }

    static long kind(long tag) {
        return tag & KIND_MASK;
    }

    /** The index, or -1 for a malformed tag. */
    static int index(long tag) {
        long rest = tag & ~KIND_MASK;
        return rest > INDEX_MASK ? -1 : (int) rest;
    }
}
