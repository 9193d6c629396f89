package fdrestore.core.spi;

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

    @Override
    public String toString() {
        return "task " + pid + " fd " + fd;
    }
}
