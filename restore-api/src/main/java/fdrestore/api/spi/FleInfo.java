package fdrestore.api.spi;

/**
 * One fd slot that refers to a file description: the task (image pid), the fd number and whether the
 * slot has FD_CLOEXEC (FdinfoEntry.flags).
 */
public record FleInfo(int pid, int fd, boolean cloexec) implements Comparable<FleInfo> {
    /** CRIU's master order: lowest pid first, then lowest fd. */
    @Override
    public int compareTo(FleInfo o) {
        int c = Integer.compare(pid, o.pid);
        return c != 0 ? c : Integer.compare(fd, o.fd);
    }

    /**
     * The master the engine picks for file {@code fileId} when its plugin does not choose
     * ({@link FileRestorer#chooseMaster}): the first of its fds in {@link #compareTo} order. Null when no
     * fd of the images refers to the file. For a plugin that plans before the engine exists.
     */
    public static FleInfo defaultMaster(fdrestore.api.image.ImageSet images, long fileId) {
        FleInfo best = null;
        for (fdrestore.api.image.ImageSet.FdRef r : images.sharers(fileId)) {
            FleInfo f = new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec());
            if (best == null || f.compareTo(best) < 0) {
                best = f;
            }
        }
        return best;
    }

    /**
     * The slot of a file that no fd of the images refers to (it exists only in flight, in a queued
     * SCM_RIGHTS message) in the task that needs it: its master opens it there, the engine never places
     * it at a target fd, and closes it once the task is done (see {@link FileKind#inFlight}).
     */
    public static FleInfo inFlight(int pid) {
        return new FleInfo(pid, -1, false);
    }

    /** True for an {@link #inFlight} slot. */
    public boolean isInFlight() {
        return fd < 0;
    }

    @Override
    public String toString() {
        return fd < 0 ? "task " + pid + " (in flight, no fd)" : "task " + pid + " fd " + fd;
    }
}
