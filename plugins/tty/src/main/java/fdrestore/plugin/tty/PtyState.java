package fdrestore.plugin.tty;

/**
 * What one restore learned about one pty: the index the host gave its master (the image's, or another one
 * with {@code pty-any-index}). Written by the master's restorer before the master is OPEN, read by the
 * slaves' restorers, which the engine runs only after that (their dependency on the master).
 */
final class PtyState {
    private final int imageIndex;
    private volatile int actual = -1;

    PtyState(int imageIndex) {
        this.imageIndex = imageIndex;
    }

    int imageIndex() {
        return imageIndex;
    }

    /** The index the master got, or the image's index before the master opened. */
    int actual() {
        int a = actual;
        return a < 0 ? imageIndex : a;
    }

    boolean known() {
        return actual >= 0;
    }

    void actual(int index) {
        actual = index;
    }
}
