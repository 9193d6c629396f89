package fdrestore.core.dump;

import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.dump.DumpState.Desc;
import fdrestore.core.dump.DumpState.Slot;
import fdrestore.core.dump.DumpState.Task;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the fd tables of a tree into {@link DumpState}: every fd of a task is copied into the JVM's table
 * with pidfd_getfd, and the copies are kept in maps sorted by kcmp(KCMP_FILE) order, bucketed by inode: an
 * fd whose copy compares equal to a kept one is another slot of the same open file description.
 */
final class FdReader {
    static final int SO_PROTOCOL = 38;
    static final int SO_DOMAIN = 39;

    private final ProcFs proc;
    private final DumpState state;
    private final int self = Sys.getpid();
    private final Map<String, TreeMap<Integer, Desc>> buckets = new HashMap<>();

    FdReader(ProcFs proc, DumpState state) {
        this.proc = proc;
        this.state = state;
    }

    /** Reads every fd of task {@code t} (the owner of its fd table). */
    void readFds(Task t) throws DumpException {
        try {
            t.pidfd = Sys.pidfdOpen(t.pid, 0);
            state.ownedFds.add(t.pidfd);
        } catch (SysException e) {
            throw e.errno() == Errno.ESRCH ? ProcFs.gone(t.pid) : new DumpException("pidfd_open of process "
                    + t.pid + ": " + e.getMessage(), e);
        }
        for (int fd : proc.fds(t.pid)) {
            readFd(t, fd);
        }
    }

    private void readFd(Task t, int fd) throws DumpException {
        String link = proc.fdLink(t.pid, fd);
        if (link == null) {
            throw closed(t, fd, null);
        }
        int copy;
        try {
            copy = Sys.pidfdGetfd(t.pidfd, fd);
        } catch (SysException e) {
            if (e.errno() == Errno.EBADF) {
                throw proc.exists(t.pid) ? closed(t, fd, link) : ProcFs.gone(t.pid);
            }
            if (e.errno() == Errno.ESRCH) {
                throw ProcFs.gone(t.pid);
            }
            if (e.errno() == Errno.EPERM || e.errno() == Errno.EACCES) {
                throw ProcFs.notPermitted(t.pid, "pidfd_getfd of fd " + fd);
            }
            if (e.errno() == Errno.EMFILE || e.errno() == Errno.ENFILE) {
                throw new DumpException("too many open files in fdrestore while copying task " + t.pid + " fd " + fd
                        + " (one copy is kept per open file description of the tree; raise the open-files limit)", e);
            }
            throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + e.getMessage(), e);
        }
        boolean kept = false;
        try {
            String info = proc.fdinfo(t.pid, fd);
            if (info == null) {
                throw closed(t, fd, link);
            }
            Fdinfo fdinfo;
            FileStat stat;
            try {
                fdinfo = Fdinfo.parse(info);
                fdinfo.flags();
                stat = Sys.fstat(copy);
            } catch (SysException | IllegalArgumentException e) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + e.getMessage(), e);
            }
            int same;
            try {
                same = Sys.kcmp(t.pid, self, Linux.KCMP_FILE, fd, copy);
            } catch (SysException e) {
                throw e.errno() == Errno.EBADF ? closed(t, fd, link) : Kcmp.failure(t.pid, e);
            }
            if (same != 0) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + ") was replaced by another file"
                        + " during the dump (--freeze stops the tree while it is dumped)");
            }
            LiveFile live = new LiveFile(t.pid, fd, link, fdinfo, stat,
                    stat.type() == Linux.S_IFSOCK ? socketOf(copy) : null);
            boolean cloexec = (fdinfo.flags() & Linux.O_CLOEXEC) != 0;
            String key = stat.dev() + ":" + stat.ino();
            TreeMap<Integer, Desc> bucket = buckets.computeIfAbsent(key, k -> new TreeMap<>(Kcmp.jvmFiles()));
            Desc d;
            try {
                d = bucket.get(copy);
                if (d == null) {
                    d = new Desc(state.newId(), copy);
                    bucket.put(copy, d);
                    state.descs.add(d);
                    state.ownedFds.add(copy);
                    kept = true;
                }
            } catch (Kcmp.Failure f) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + f.getMessage(), f.sys());
            }
            Slot s = new Slot(t, fd, live, cloexec, d);
            d.slots.add(s);
            t.slots.add(s);
        } finally {
            if (!kept) {
                Sys.closeQuietly(copy);
            }
        }
    }

    /** SO_DOMAIN, SO_TYPE, SO_PROTOCOL of a socket copy; null when they cannot be read. */
    private static LiveFile.Socket socketOf(int copy) {
        try {
            return new LiveFile.Socket(Sys.getsockoptInt(copy, Linux.SOL_SOCKET, SO_DOMAIN),
                    Sys.getsockoptInt(copy, Linux.SOL_SOCKET, Linux.SO_TYPE),
                    Sys.getsockoptInt(copy, Linux.SOL_SOCKET, SO_PROTOCOL));
        } catch (SysException e) {
            return null;
        }
    }

    private DumpException closed(Task t, int fd, String link) {
        return new DumpException("task " + t.pid + " fd " + fd + (link == null ? "" : " (" + link + ")")
                + " was closed during the dump (--freeze stops the tree while it is dumped)");
    }
}
