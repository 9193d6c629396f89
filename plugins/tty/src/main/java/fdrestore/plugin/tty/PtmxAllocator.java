package fdrestore.plugin.tty;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;

/**
 * Opens a pty master with a given index. The kernel hands out the lowest free index of the devpts
 * instance, so {@code /dev/ptmx} is opened again and again, keeping the wrong ones open (so that the next
 * open gets the next index) until TIOCGPTN answers the wanted index; then the wrong ones are closed.
 * When an open answers an index above the wanted one, the wanted index is taken by someone else on this
 * host: that is an error naming the holder, unless {@code anyIndex}, which keeps that pty instead.
 *
 * <p>The index allocation is global to the host, so the whole loop runs under one lock shared by every
 * restore of this JVM (the plugin's classes are loaded once). Other processes of the host may still
 * allocate concurrently; the loop copes, the bound stops it.
 */
final class PtmxAllocator {
    /** How many opens one allocation may make (held at once) before giving up. */
    static final int MAX_TRIES = 256;

    private static final ReentrantLock PTMX_LOCK = new ReentrantLock();

    /** The master's temporary fd and the index it has. */
    record Master(int fd, int index) {
    }

    private PtmxAllocator() {
    }

    /** The lock held while allocating (tests check that allocations are serialised). */
    static ReentrantLock lock() {
        return PTMX_LOCK;
    }

    /**
     * Opens {@code path} (the host's {@code /dev/ptmx}) with {@code flags} until it has index {@code want}.
     *
     * @param holders describes who holds a taken index (scans /proc), called only to build the error
     */
    static Master open(TaskTable t, String path, int flags, int want, boolean anyIndex, int maxTries,
                       IntFunction<String> holders) throws IOException, SysException {
        List<Integer> wrong = new ArrayList<>();
        Master got = null;
        int last = -1;
        PTMX_LOCK.lock();
        try {
            try {
                for (int tries = 0; tries < maxTries; tries++) {
                    int fd = t.open(path, flags, 0);
                    int index;
                    try {
                        index = Tty.getInt(t, fd, Tty.TIOCGPTN);
                    } catch (SysException e) {
                        t.close(fd);
                        throw new IOException(path + " is not a pty multiplexer: ioctl TIOCGPTN failed: " + e.getMessage(), e);
                    }
                    last = index;
                    if (index == want) {
                        got = new Master(fd, index);
                        break;
                    }
                    if (index > want) {
                        if (anyIndex) {
                            got = new Master(fd, index);
                        } else {
                            wrong.add(fd);
                        }
                        break;
                    }
                    wrong.add(fd); // a free index below the wanted one: hold it, so that the next open goes higher
                }
                if (got == null && anyIndex && !wrong.isEmpty()) {
                    // Out of tries below the wanted index: keep the last one.
                    int fd = wrong.remove(wrong.size() - 1);
                    got = new Master(fd, last);
                }
            } finally {
                IOException closing = null;
                for (int fd : wrong) {
                    try {
                        t.close(fd);
                    } catch (SysException e) {
                        if (closing == null) {
                            closing = new IOException("closing a spare " + path + " fd " + fd + ": " + e.getMessage(), e);
                        }
                    }
                }
                if (closing != null) {
                    if (got != null) {
                        try {
                            t.close(got.fd());
                        } catch (SysException e) {
                            closing.addSuppressed(e);
                        }
                    }
                    throw closing;
                }
            }
        } finally {
            PTMX_LOCK.unlock();
        }
        if (got != null) {
            return got;
        }
        if (last > want) {
            String who = holders.apply(want);
            throw new IOException("pty index " + want + " is taken on this host: " + path + " gave index " + last
                    + " (the lowest free one)" + (who.isEmpty() ? " and no process holding " + want + " was found"
                    + " (it may live in another mount namespace, or have closed it since)" : "; " + who)
                    + ". Free it, or restore with --pty-any-index (--plugin-option pty-any-index=true) to take"
                    + " any free index (the slaves' paths change accordingly)");
        }
        throw new IOException("pty index " + want + " not reached after " + maxTries + " opens of " + path
                + " (the last gave index " + last + "); restore with --pty-any-index to take any free index");
    }
}
