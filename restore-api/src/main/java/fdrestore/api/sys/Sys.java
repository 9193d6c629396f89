package fdrestore.api.sys;

import java.nio.charset.StandardCharsets;
import jnr.ffi.Pointer;

/**
 * The checked syscall facade for ordinary threads (the JVM's own fd table): every call checks its result
 * and throws {@link SysException} naming the call, its arguments and the errno. EAGAIN is a value where
 * the method says so. Not for executor threads, which use {@link LibC} directly on preallocated memory
 * (these methods allocate).
 *
 * <p>One idea in one file on purpose, over the usual size: the flat list of checked calls that plugins and
 * core look up by syscall name, each a few lines. What is more than a call lives beside it, package-private:
 * the msghdr messages ({@code SysMessages}) and the fd table listing ({@code FdListing}).
 */
public final class Sys {
    private static final LibC C = Native.libc();

    private Sys() {
    }

    /** The raw binding (for the task runtime). */
    public static LibC libc() {
        return C;
    }

    private static SysException fail(String call) {
        return new SysException(call, Native.errno());
    }

    // ------------------------------------------------------------------ files

    /** open(2). */
    public static int open(String path, int flags, int mode) throws SysException {
        Pointer p = Native.allocateString(path);
        int fd = C.open(p.address(), flags, mode);
        if (fd < 0) {
            throw fail("open(" + Native.quote(path) + ", " + Linux.openFlags(flags) + modeArg(flags, mode) + ")");
        }
        return fd;
    }

    /** open(2) that refuses O_CREAT, O_TRUNC and O_TMPFILE (restore never creates user files). */
    public static int openExisting(String path, int flags) throws SysException {
        Linux.refuseCreate("open", path, flags);
        return open(path, flags, 0);
    }

    /**
     * Makes a FIFO node where nothing is (mknodat: EEXIST otherwise, a symlink at path is not followed),
     * then gives it exactly {@code perm} (fchmodat: the umask applied to mknod is undone) and the owner
     * {@code uid}:{@code gid} (fchownat, AT_SYMLINK_NOFOLLOW), without ever opening it (an open of a FIFO
     * waits for a peer). For the ghost of a FIFO that was unlinked while open. When the mode or the owner
     * fails, the node exists: the caller removes it.
     */
    public static void mkfifo(String path, int perm, int uid, int gid) throws SysException {
        Pointer p = Native.allocateString(path);
        String q = Native.quote(path);
        if (C.syscall(Linux.SYS_MKNODAT, Linux.AT_FDCWD, p.address(), Linux.S_IFIFO | (perm & 07777), 0) < 0) {
            throw fail("mknodat(AT_FDCWD, " + q + ", S_IFIFO|0" + Integer.toOctalString(perm & 07777) + ")");
        }
        if (C.syscall(Linux.SYS_FCHMODAT, Linux.AT_FDCWD, p.address(), perm & 07777) < 0) {
            throw fail("fchmodat(AT_FDCWD, " + q + ", 0" + Integer.toOctalString(perm & 07777) + ")");
        }
        if (C.syscall(Linux.SYS_FCHOWNAT, Linux.AT_FDCWD, p.address(), uid, gid, 0x100 /* AT_SYMLINK_NOFOLLOW */) < 0) {
            throw fail("fchownat(AT_FDCWD, " + q + ", " + uid + ", " + gid + ", AT_SYMLINK_NOFOLLOW)");
        }
    }

    /** openat(2). */
    public static int openat(int dirfd, String path, int flags, int mode) throws SysException {
        Pointer p = Native.allocateString(path);
        int fd = C.openat(dirfd, p.address(), flags, mode);
        if (fd < 0) {
            throw fail("openat(" + dirfd(dirfd) + ", " + Native.quote(path) + ", " + Linux.openFlags(flags)
                    + modeArg(flags, mode) + ")");
        }
        return fd;
    }

    /** openat2(2) (syscall 437) with {@code struct open_how {flags, mode, resolve}}. */
    public static int openat2(int dirfd, String path, int flags, int mode, long resolve) throws SysException {
        Pointer p = Native.allocateString(path);
        Pointer how = Native.allocate(Linux.OPEN_HOW_SIZE);
        how.putLong(0, flags & 0xffffffffL);
        how.putLong(8, mode);
        how.putLong(16, resolve);
        long fd = C.syscall(Linux.SYS_OPENAT2, dirfd, p.address(), how.address(), Linux.OPEN_HOW_SIZE);
        if (fd < 0) {
            throw fail("openat2(" + dirfd(dirfd) + ", " + Native.quote(path) + ", {" + Linux.openFlags(flags)
                    + ", mode 0" + Integer.toOctalString(mode) + ", resolve 0x" + Long.toHexString(resolve) + "})");
        }
        return (int) fd;
    }

    /** close(2). */
    public static void close(int fd) throws SysException {
        if (C.close(fd) < 0) {
            throw fail("close(" + fd + ")");
        }
    }

    /**
     * One recvmsg(MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) of up to {@code size} bytes on a socket of
     * this JVM's own table: the data stays queued. Fds a peeked SCM_RIGHTS message installed here are
     * closed at once and counted. Returns null when the queue is empty.
     */
    public static Peeked peek(int fd, int size) throws SysException {
        Received r = SysMessages.receive(fd, size, Linux.MSG_PEEK | Linux.MSG_DONTWAIT | Linux.MSG_CMSG_CLOEXEC, "MSG_PEEK|MSG_DONTWAIT");
        if (r == null) {
            return null;
        }
        for (int passed : r.fds()) {
            closeQuietly(passed);
        }
        return new Peeked(r.data(), r.flags(), r.fds().length);
    }

    /**
     * One blocking recvmsg(MSG_CMSG_CLOEXEC) of up to {@code size} bytes on a socket of this JVM's own
     * table. The fds of an SCM_RIGHTS message are the caller's to close (all of them, even when the data
     * is refused). An empty {@code data} is the peer's end of stream.
     */
    public static Received receive(int fd, int size) throws SysException {
        return SysMessages.receive(fd, size, Linux.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC");
    }

    /** What {@link #receive} got: the data, the message flags (MSG_TRUNC, MSG_CTRUNC) and the fds it installed. */
    public record Received(byte[] data, int flags, int[] fds) {
    }

    /** accept4(2) (syscall 288) with SOCK_CLOEXEC; blocks unless the socket is non-blocking. */
    public static int accept(int fd) throws SysException {
        long r;
        do {
            r = C.syscall(Linux.SYS_ACCEPT4, fd, 0, 0, Linux.SOCK_CLOEXEC);
        } while (r < 0 && Native.errno() == Errno.EINTR);
        if (r < 0) {
            throw fail("accept4(" + fd + ", SOCK_CLOEXEC)");
        }
        return (int) r;
    }

    /** shutdown(2) (syscall 48); {@code how} is 0 (SHUT_RD), 1 (SHUT_WR) or 2 (SHUT_RDWR). */
    public static void shutdown(int fd, int how) throws SysException {
        if (C.syscall(Linux.SYS_SHUTDOWN, fd, how) < 0) {
            throw fail("shutdown(" + fd + ", " + how + ")");
        }
    }

    /** SO_PEERCRED of a connected unix socket: {pid, uid, gid} of the peer when it connected. */
    public static int[] peerCredentials(int fd) throws SysException {
        byte[] b = new byte[12];
        getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_PEERCRED, b);
        int[] out = new int[3];
        for (int i = 0; i < 3; i++) {
            out[i] = (b[4 * i] & 0xff) | (b[4 * i + 1] & 0xff) << 8 | (b[4 * i + 2] & 0xff) << 16 | (b[4 * i + 3] & 0xff) << 24;
        }
        return out;
    }

    /** umask(2) (syscall 95): sets the mask and returns the previous one. */
    public static int umask(int mask) {
        return (int) C.syscall(Linux.SYS_UMASK, mask);
    }

    /** geteuid(2) (syscall 107). */
    public static int geteuid() {
        return (int) C.syscall(Linux.SYS_GETEUID);
    }

    /** Whether {@code fd} is a terminal: TCGETS succeeds on it (isatty(3)). */
    public static boolean isatty(int fd) {
        Pointer termios = Native.allocate(64);
        boolean tty = C.ioctl(fd, Linux.TCGETS, termios.address()) == 0;
        java.lang.ref.Reference.reachabilityFence(termios);
        return tty;
    }

    /** What {@link #peek} saw: the data, the message flags (MSG_TRUNC, MSG_CTRUNC) and how many fds it carried. */
    public record Peeked(byte[] data, int flags, int passedFds) {
    }

    /** close(2) that ignores every error (cleanup paths). */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            C.close(fd);
        }
    }

    /** dup(2). */
    public static int dup(int fd) throws SysException {
        int r = C.dup(fd);
        if (r < 0) {
            throw fail("dup(" + fd + ")");
        }
        return r;
    }

    /** dup3(2). */
    public static void dup3(int oldfd, int newfd, int flags) throws SysException {
        if (C.dup3(oldfd, newfd, flags) < 0) {
            throw fail("dup3(" + oldfd + ", " + newfd + ", " + (flags == Linux.O_CLOEXEC ? "O_CLOEXEC" : flags) + ")");
        }
    }

    /** fcntl(2) with an integer argument. */
    public static long fcntl(int fd, int cmd, long arg) throws SysException {
        int r = C.fcntl(fd, cmd, arg);
        if (r < 0) {
            throw fail("fcntl(" + fd + ", " + Linux.fcntlCmd(cmd) + ", " + arg + ")");
        }
        return r;
    }

    /** ioctl(2) with an integer argument. */
    public static int ioctl(int fd, long request, long arg) throws SysException {
        int r = C.ioctl(fd, request, arg);
        if (r < 0) {
            throw fail("ioctl(" + fd + ", " + Linux.ioctlRequest(request) + ", " + arg + ")");
        }
        return r;
    }

    /** ioctl(2) with a pointer to a copy of {@code buf}, copied back after the call. */
    public static int ioctl(int fd, long request, byte[] buf) throws SysException {
        Pointer p = Native.allocate(buf.length);
        p.put(0, buf, 0, buf.length);
        int r = C.ioctl(fd, request, p.address());
        if (r < 0) {
            throw fail("ioctl(" + fd + ", " + Linux.ioctlRequest(request) + ", <" + buf.length + " bytes>)");
        }
        p.get(0, buf, 0, buf.length);
        return r;
    }

    /** lseek(2). */
    public static long lseek(int fd, long offset, int whence) throws SysException {
        long r = C.lseek(fd, offset, whence);
        if (r < 0) {
            throw fail("lseek(" + fd + ", " + offset + ", " + whence(whence) + ")");
        }
        return r;
    }

    /** read(2); -1 on EAGAIN, 0 at end of file. */
    public static int read(int fd, byte[] buf, int off, int len) throws SysException {
        Pointer p = Native.allocate(len);
        long n = C.read(fd, p.address(), len);
        if (n < 0) {
            int e = Native.errno();
            if (e == Errno.EAGAIN) {
                return -1;
            }
            throw new SysException("read(" + fd + ", <buf>, " + len + ")", e);
        }
        p.get(0, buf, off, (int) n);
        return (int) n;
    }

    /** write(2); -1 on EAGAIN. */
    public static int write(int fd, byte[] data, int off, int len) throws SysException {
        Pointer p = Native.allocate(len);
        p.put(0, data, off, len);
        long n = C.write(fd, p.address(), len);
        if (n < 0) {
            int e = Native.errno();
            if (e == Errno.EAGAIN) {
                return -1;
            }
            throw new SysException("write(" + fd + ", <buf>, " + len + ")", e);
        }
        return (int) n;
    }

    /** pipe2(2): {read end, write end}. */
    public static int[] pipe2(int flags) throws SysException {
        Pointer p = Native.allocate(8);
        if (C.pipe2(p.address(), flags) < 0) {
            throw fail("pipe2(" + Linux.openFlags(flags) + ")");
        }
        return new int[] {p.getInt(0), p.getInt(4)};
    }

    /** fstat(2) (the raw x86-64 {@code struct stat}). */
    public static FileStat fstat(int fd) throws SysException {
        Pointer p = Native.allocate(Linux.STAT_SIZE);
        if (C.fstat(fd, p.address()) < 0) {
            throw fail("fstat(" + fd + ")");
        }
        return FileStat.read(p, 0);
    }

    /**
     * tee(2): duplicates up to {@code len} bytes queued in pipe {@code fdIn} into pipe {@code fdOut}
     * without consuming them. Returns the bytes duplicated, 0 when {@code fdIn} is empty and has no
     * writer, or -1 on EAGAIN (empty, or {@code fdOut} full, with SPLICE_F_NONBLOCK).
     */
    public static long tee(int fdIn, int fdOut, long len, int flags) throws SysException {
        long n = C.tee(fdIn, fdOut, len, flags);
        if (n < 0) {
            int e = Native.errno();
            if (e == Errno.EAGAIN) {
                return -1;
            }
            throw new SysException("tee(" + fdIn + ", " + fdOut + ", " + len + ", " + flags + ")", e);
        }
        return n;
    }

    /** fcntl(2) with a pointer to a copy of {@code buf}, copied back after the call (F_GETOWN_EX ...). */
    public static int fcntl(int fd, int cmd, byte[] buf) throws SysException {
        Pointer p = Native.allocate(buf.length);
        p.put(0, buf, 0, buf.length);
        int r = C.fcntl(fd, cmd, p.address());
        if (r < 0) {
            throw fail("fcntl(" + fd + ", " + Linux.fcntlCmd(cmd) + ", <" + buf.length + " bytes>)");
        }
        p.get(0, buf, 0, buf.length);
        return r;
    }

    // ------------------------------------------------------------------ sockets

    /** socket(2). */
    public static int socket(int domain, int type, int protocol) throws SysException {
        int fd = C.socket(domain, type, protocol);
        if (fd < 0) {
            throw fail("socket(" + domain + ", " + type + ", " + protocol + ")");
        }
        return fd;
    }

    /** socketpair(2). */
    public static int[] socketpair(int domain, int type, int protocol) throws SysException {
        Pointer p = Native.allocate(8);
        if (C.socketpair(domain, type, protocol, p.address()) < 0) {
            throw fail("socketpair(" + domain + ", " + type + ", " + protocol + ")");
        }
        return new int[] {p.getInt(0), p.getInt(4)};
    }

    /** bind(2) to a raw sockaddr. */
    public static void bind(int fd, byte[] addr) throws SysException {
        Pointer p = copy(addr);
        if (C.bind(fd, p.address(), addr.length) < 0) {
            throw fail("bind(" + fd + ", " + Native.sockaddr(addr) + ")");
        }
    }

    /** listen(2). */
    public static void listen(int fd, int backlog) throws SysException {
        if (C.listen(fd, backlog) < 0) {
            throw fail("listen(" + fd + ", " + backlog + ")");
        }
    }

    /** connect(2); false when in progress (EINPROGRESS/EAGAIN). */
    public static boolean connect(int fd, byte[] addr) throws SysException {
        Pointer p = copy(addr);
        if (C.connect(fd, p.address(), addr.length) < 0) {
            int e = Native.errno();
            if (e == Errno.EINPROGRESS || e == Errno.EAGAIN) {
                return false;
            }
            throw new SysException("connect(" + fd + ", " + Native.sockaddr(addr) + ")", e);
        }
        return true;
    }

    /** getsockname(2) (syscall 51): the raw sockaddr the socket is bound to. */
    public static byte[] getsockname(int fd) throws SysException {
        return sockname(Linux.SYS_GETSOCKNAME, "getsockname", fd);
    }

    /** getpeername(2) (syscall 52): the raw sockaddr of the peer; ENOTCONN when not connected. */
    public static byte[] getpeername(int fd) throws SysException {
        return sockname(Linux.SYS_GETPEERNAME, "getpeername", fd);
    }

    private static byte[] sockname(long nr, String name, int fd) throws SysException {
        int cap = 128; // sizeof(struct sockaddr_storage)
        Pointer p = Native.allocate(cap + 4L);
        p.putInt(cap, cap);
        if (C.syscall(nr, fd, p.address(), p.address() + cap) < 0) {
            throw fail(name + "(" + fd + ")");
        }
        int len = Math.min(p.getInt(cap), cap);
        byte[] out = new byte[len];
        p.get(0, out, 0, len);
        return out;
    }

    /** setsockopt(2) with a raw value. */
    public static void setsockopt(int fd, int level, int name, byte[] value) throws SysException {
        Pointer p = copy(value);
        if (C.setsockopt(fd, level, name, p.address(), value.length) < 0) {
            throw fail("setsockopt(" + fd + ", " + level + ", " + name + ", <" + value.length + " bytes>)");
        }
    }

    /** setsockopt(2) with an int value. */
    public static void setsockoptInt(int fd, int level, int name, int value) throws SysException {
        setsockopt(fd, level, name, intBytes(value));
    }

    /** getsockopt(2) into {@code out}; returns the option's length. */
    public static int getsockopt(int fd, int level, int name, byte[] out) throws SysException {
        Pointer p = Native.allocate(out.length + 4L);
        p.putInt(out.length, out.length);
        if (C.getsockopt(fd, level, name, p.address(), p.address() + out.length) < 0) {
            throw fail("getsockopt(" + fd + ", " + level + ", " + name + ")");
        }
        int len = p.getInt(out.length);
        p.get(0, out, 0, Math.min(len, out.length));
        return len;
    }

    /** getsockopt(2) of an int option. */
    public static int getsockoptInt(int fd, int level, int name) throws SysException {
        byte[] b = new byte[4];
        getsockopt(fd, level, name, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    /**
     * sendmsg(2) of {@code payload[0, len)} with SCM_RIGHTS {@code fds[0, fdCount)} to {@code dest} (null
     * when connected). Returns the bytes sent, or -1 on EAGAIN.
     */
    public static long sendmsg(int fd, byte[] dest, byte[] payload, int len, int[] fds, int fdCount, int flags)
            throws SysException {
        return SysMessages.sendmsg(fd, dest, payload, len, fds, fdCount, flags);
    }

    // ------------------------------------------------------------------ processes

    /** unshare(2). */
    public static void unshare(int flags) throws SysException {
        if (C.unshare(flags) < 0) {
            throw fail("unshare(0x" + Integer.toHexString(flags) + ")");
        }
    }

    /** getpid(2). */
    public static int getpid() {
        return C.getpid();
    }

    /** gettid(2) (syscall 186). */
    public static int gettid() {
        return (int) C.syscall(Linux.SYS_GETTID);
    }

    /**
     * kcmp(2) (syscall 312): 0 equal, 1 or 2 ordered, 3 not equal. {@code pid1}/{@code pid2} may be thread
     * ids, which matters for KCMP_FILES/KCMP_FILE on executor threads.
     */
    public static int kcmp(int pid1, int pid2, int type, long idx1, long idx2) throws SysException {
        long r = C.syscall(Linux.SYS_KCMP, pid1, pid2, type, idx1, idx2);
        if (r < 0) {
            throw fail("kcmp(" + pid1 + ", " + pid2 + ", " + kcmpType(type) + ", " + idx1 + ", " + idx2 + ")");
        }
        return (int) r;
    }

    /** pidfd_open(2) (syscall 434). */
    public static int pidfdOpen(int pid, int flags) throws SysException {
        long r = C.syscall(Linux.SYS_PIDFD_OPEN, pid, flags);
        if (r < 0) {
            throw fail("pidfd_open(" + pid + ", " + flags + ")");
        }
        return (int) r;
    }

    /** pidfd_getfd(2) (syscall 438): a copy of the target process's fd in this table, with O_CLOEXEC. */
    public static int pidfdGetfd(int pidfd, int targetFd) throws SysException {
        long r = C.syscall(Linux.SYS_PIDFD_GETFD, pidfd, targetFd, 0);
        if (r < 0) {
            throw fail("pidfd_getfd(" + pidfd + ", " + targetFd + ", 0)");
        }
        return (int) r;
    }

    /** close_range(2) (syscall 436); {@code last} is unsigned (use -1 or 0xffffffffL for ~0U). */
    public static void closeRange(int first, long last, int flags) throws SysException {
        long r = C.syscall(Linux.SYS_CLOSE_RANGE, first & 0xffffffffL, last & 0xffffffffL, flags);
        if (r < 0) {
            throw fail("close_range(" + first + ", " + (last & 0xffffffffL) + ", " + flags + ")");
        }
    }

    /** getrlimit(2). */
    public static Rlimit getrlimit(int resource) throws SysException {
        Pointer p = Native.allocate(16);
        if (C.getrlimit(resource, p.address()) < 0) {
            throw fail("getrlimit(" + resource + ")");
        }
        return new Rlimit(p.getLong(0), p.getLong(8));
    }

    /** setrlimit(2) (process-wide). */
    public static void setrlimit(int resource, Rlimit limit) throws SysException {
        Pointer p = Native.allocate(16);
        p.putLong(0, limit.soft());
        p.putLong(8, limit.hard());
        if (C.setrlimit(resource, p.address()) < 0) {
            throw fail("setrlimit(" + resource + ", " + limit + ")");
        }
    }

    /** prlimit(2): sets {@code newLimit} when not null; returns the old limit. */
    public static Rlimit prlimit(int pid, int resource, Rlimit newLimit) throws SysException {
        Pointer p = Native.allocate(32);
        long np = 0;
        if (newLimit != null) {
            p.putLong(0, newLimit.soft());
            p.putLong(8, newLimit.hard());
            np = p.address();
        }
        if (C.prlimit(pid, resource, np, p.address() + 16) < 0) {
            throw fail("prlimit(" + pid + ", " + resource + ", " + newLimit + ")");
        }
        return new Rlimit(p.getLong(16), p.getLong(24));
    }

    /** waitpid(2); null with WNOHANG when the child has not changed state. */
    public static WaitStatus waitpid(int pid, int options) throws SysException {
        Pointer p = Native.allocate(4);
        int r;
        do {
            r = C.waitpid(pid, p.address(), options);
        } while (r < 0 && Native.errno() == Errno.EINTR);
        if (r < 0) {
            throw fail("waitpid(" + pid + ", " + options + ")");
        }
        if (r == 0) {
            return null;
        }
        return new WaitStatus(r, p.getInt(0));
    }

    /** ptrace(2) on thread {@code tid}; the result of requests that return one (PEEK* are not for this). */
    public static long ptrace(int request, int tid, long addr, long data) throws SysException {
        long r = C.syscall(Linux.SYS_PTRACE, request, tid, addr, data);
        if (r < 0) {
            throw fail("ptrace(" + request + ", " + tid + ")");
        }
        return r;
    }

    /** kill(2). */
    public static void kill(int pid, int sig) throws SysException {
        if (C.kill(pid, sig) < 0) {
            throw fail("kill(" + pid + ", " + sig + ")");
        }
    }

    /**
     * The open fds of the calling thread's table with what each refers to (its /proc link: a path,
     * {@code pipe:[ino]}, {@code socket:[ino]} ...), in fd order. An fd closed while it is listed is left out.
     * For diagnostics and leak checks; {@link #listFds} is the cheap form.
     */
    public static java.util.SortedMap<Integer, String> fdTargets() throws SysException {
        java.util.SortedMap<Integer, String> out = new java.util.TreeMap<>();
        for (int fd : listFds()) {
            try {
                out.put(fd, java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self/fd/" + fd))
                        .toString());
            } catch (java.io.IOException closedMeanwhile) {
                // another thread closed it after the listing
            }
        }
        return out;
    }

    /** The open fds of the calling thread's table, via getdents64 on /proc/thread-self/fd (sorted). */
    public static int[] listFds() throws SysException {
        return FdListing.listFds();
    }

    // ------------------------------------------------------------------ sockaddr helpers

    /** A {@code struct sockaddr_un} for the abstract name {@code name} (no leading NUL in the argument). */
    public static byte[] unixAbstractAddress(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length > 107) {
            throw new IllegalArgumentException("abstract unix name too long: " + n.length + " bytes");
        }
        byte[] a = new byte[3 + n.length];
        a[0] = (byte) Linux.AF_UNIX;
        System.arraycopy(n, 0, a, 3, n.length);
        return a;
    }

    /** A {@code struct sockaddr_un} for a filesystem path. */
    public static byte[] unixPathAddress(String path) {
        byte[] n = path.getBytes(StandardCharsets.UTF_8);
        if (n.length > 107) {
            throw new IllegalArgumentException("unix socket path too long: " + n.length + " bytes");
        }
        byte[] a = new byte[3 + n.length];
        a[0] = (byte) Linux.AF_UNIX;
        System.arraycopy(n, 0, a, 2, n.length);
        return a;
    }

    /** Little-endian bytes of an int (socket option values). */
    public static byte[] intBytes(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    // ------------------------------------------------------------------ formatting

    public static String dirfd(int dirfd) {
        return dirfd == Linux.AT_FDCWD ? "AT_FDCWD" : Integer.toString(dirfd);
    }

    public static String modeArg(int flags, int mode) {
        return mode == 0 ? "" : ", 0" + Integer.toOctalString(mode);
    }

    public static String whence(int whence) {
        switch (whence) {
            case Linux.SEEK_SET: return "SEEK_SET";
            case Linux.SEEK_CUR: return "SEEK_CUR";
            case Linux.SEEK_END: return "SEEK_END";
            default: return Integer.toString(whence);
        }
    }

    public static String kcmpType(int type) {
        switch (type) {
            case Linux.KCMP_FILE: return "KCMP_FILE";
            case Linux.KCMP_VM: return "KCMP_VM";
            case Linux.KCMP_FILES: return "KCMP_FILES";
            case Linux.KCMP_EPOLL_TFD: return "KCMP_EPOLL_TFD";
            default: return Integer.toString(type);
        }
    }

    private static Pointer copy(byte[] b) {
        Pointer p = Native.allocate(b.length);
        p.put(0, b, 0, b.length);
        return p;
    }
}
