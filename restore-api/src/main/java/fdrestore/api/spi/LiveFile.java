package fdrestore.api.spi;

import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.Linux;
import java.util.Objects;

/**
 * One live fd of a task as the dump sees it: the real pid of its task, its number, the target of its
 * {@code /proc/PID/fd/N} link (a path, possibly ending in " (deleted)", or "pipe:[ino]",
 * "socket:[ino]", "anon_inode:[eventpoll]" ...), its fdinfo, the stat of the open file and, for a socket,
 * its domain, type and protocol (SO_DOMAIN, SO_TYPE, SO_PROTOCOL; null for other files).
 */
public record LiveFile(int pid, int fd, String link, Fdinfo fdinfo, FileStat stat, Socket socket) {
    /** A socket's address family, type and protocol, as getsockopt reports them. */
    public record Socket(int family, int type, int protocol) {
    }

    public LiveFile {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(fdinfo, "fdinfo");
        Objects.requireNonNull(stat, "stat");
    }

    /** A file that is not a socket. */
    public LiveFile(int pid, int fd, String link, Fdinfo fdinfo, FileStat stat) {
        this(pid, fd, link, fdinfo, stat, null);
    }

    /** S_IFMT bits of the file's mode. */
    public int fileType() {
        return stat.type();
    }

    /** True if the link names a file system path (it starts with '/'). */
    public boolean isPath() {
        return link.startsWith("/");
    }

    /** True if the link is {@code anon_inode:NAME} or {@code anon_inode:[NAME]}. */
    public boolean isAnonInode(String name) {
        return link.equals("anon_inode:[" + name + "]") || link.equals("anon_inode:" + name);
    }

    /** True for an unnamed pipe ("pipe:[ino]", S_IFIFO). */
    public boolean isPipe() {
        return link.startsWith("pipe:[") && fileType() == Linux.S_IFIFO;
    }

    /**
     * True for a memfd: a regular file whose link is {@code /memfd:NAME (deleted)} (memfd_create's files
     * live on an internal mount and are never linked).
     */
    public boolean isMemfd() {
        return fileType() == Linux.S_IFREG && link.startsWith("/memfd:") && link.endsWith(" (deleted)")
                && stat.nlink() == 0;
    }

    /** True for a socket ("socket:[ino]", S_IFSOCK). */
    public boolean isSocket() {
        return fileType() == Linux.S_IFSOCK;
    }

    @Override
    public String toString() {
        return "task " + pid + " fd " + fd + " (" + link + ")";
    }
}
