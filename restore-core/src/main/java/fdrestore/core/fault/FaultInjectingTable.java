package fdrestore.core.fault;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A {@link TaskTable} that passes every call to the real one, after asking its {@link FaultPlan} whether
 * this call must fail. A failing call does nothing (as a syscall that fails before any effect) and throws
 * a {@link SysException} with the plan's errno, naming the call, its arguments and the injected fault;
 * {@code close} is the exception: as in Linux, the fd is closed and then the error is reported. A batch
 * counts each of its calls when it runs; a fault in any of them fails the whole batch before it runs
 * (the same state as a batch that stops at its failure and closes what it created).
 */
public final class FaultInjectingTable implements TaskTable {
    private final TaskTable real;
    private final FaultPlan plan;
    private final int pid;

    public FaultInjectingTable(TaskTable real, FaultPlan plan) {
        this.real = real;
        this.plan = plan;
        this.pid = real.pid();
    }

    /** The table this one wraps. */
    public TaskTable delegate() {
        return real;
    }

    private void check(String syscall, Supplier<String> describe) throws SysException {
        plan.call(pid, syscall, describe);
    }

    private static String fd(int fd) {
        return "fd " + fd;
    }

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public int tempFloor() {
        return real.tempFloor();
    }

    @Override
    public int open(String path, int flags, int mode) throws SysException {
        check("open", () -> "open(" + Native.quote(path) + ", " + Linux.openFlags(flags) + ")");
        return real.open(path, flags, mode);
    }

    @Override
    public int openAt(int dirFd, String path, int flags, int mode) throws SysException {
        check("openAt", () -> "openat(" + Sys.dirfd(dirFd) + ", " + Native.quote(path) + ", " + Linux.openFlags(flags) + ")");
        return real.openAt(dirFd, path, flags, mode);
    }

    @Override
    public int openAt2(int dirFd, String path, int flags, int mode, long resolve) throws SysException {
        check("openAt2", () -> "openat2(" + Sys.dirfd(dirFd) + ", " + Native.quote(path) + ", "
                + Linux.openFlags(flags) + ", resolve 0x" + Long.toHexString(resolve) + ")");
        return real.openAt2(dirFd, path, flags, mode, resolve);
    }

    @Override
    public int[] pipe(int flags) throws SysException {
        check("pipe", () -> "pipe2(" + Linux.openFlags(flags) + ")");
        return real.pipe(flags);
    }

    @Override
    public int socket(int domain, int type, int protocol) throws SysException {
        check("socket", () -> "socket(" + domain + ", " + type + ", " + protocol + ")");
        return real.socket(domain, type, protocol);
    }

    @Override
    public int[] socketpair(int domain, int type, int protocol) throws SysException {
        check("socketpair", () -> "socketpair(" + domain + ", " + type + ", " + protocol + ")");
        return real.socketpair(domain, type, protocol);
    }

    @Override
    public int dup(int fd) throws SysException {
        check("dup", () -> "dup(" + fd(fd) + ")");
        return real.dup(fd);
    }

    @Override
    public void close(int fd) throws SysException {
        real.close(fd);
        check("close", () -> "close(" + fd(fd) + ")");
    }

    @Override
    public void place(int fd, int target, boolean cloexec) throws SysException {
        check("place", () -> "dup3(" + fd(fd) + ", fd " + target + (cloexec ? ", O_CLOEXEC" : ", 0") + ") placing fd "
                + target);
        real.place(fd, target, cloexec);
    }

    @Override
    public void placeAll(int[] src, int[] dst, int[] flags, int count) throws SysException {
        check("placeAll", () -> {
            StringBuilder sb = new StringBuilder("dup3 placing fd");
            for (int i = 0; i < Math.min(count, 8); i++) {
                sb.append(i == 0 ? " " : ", ").append(dst[i]).append(" (from ").append(src[i]).append(')');
            }
            return sb.append(count > 8 ? " and " + (count - 8) + " more" : "").toString();
        });
        real.placeAll(src, dst, flags, count);
    }

    @Override
    public long lseek(int fd, long offset, int whence) throws SysException {
        check("lseek", () -> "lseek(" + fd(fd) + ", " + offset + ", " + whence + ")");
        return real.lseek(fd, offset, whence);
    }

    @Override
    public long fcntl(int fd, int cmd, long arg) throws SysException {
        check("fcntl", () -> "fcntl(" + fd(fd) + ", " + cmd + ", " + arg + ")");
        return real.fcntl(fd, cmd, arg);
    }

    @Override
    public int ioctl(int fd, long request, long arg) throws SysException {
        check("ioctl", () -> "ioctl(" + fd(fd) + ", 0x" + Long.toHexString(request) + ", " + arg + ")");
        return real.ioctl(fd, request, arg);
    }

    @Override
    public int ioctl(int fd, long request, byte[] buf) throws SysException {
        check("ioctl", () -> "ioctl(" + fd(fd) + ", 0x" + Long.toHexString(request) + ", " + buf.length + " bytes)");
        return real.ioctl(fd, request, buf);
    }

    @Override
    public int write(int fd, byte[] data, int off, int len) throws SysException {
        check("write", () -> "write(" + fd(fd) + ", " + len + " bytes)");
        return real.write(fd, data, off, len);
    }

    @Override
    public Stat fstat(int fd) throws SysException {
        check("fstat", () -> "fstat(" + fd(fd) + ")");
        return real.fstat(fd);
    }

    @Override
    public void bind(int fd, byte[] sockaddr) throws SysException {
        check("bind", () -> "bind(" + fd(fd) + ", " + sockaddr.length + "-byte address)");
        real.bind(fd, sockaddr);
    }

    @Override
    public void listen(int fd, int backlog) throws SysException {
        check("listen", () -> "listen(" + fd(fd) + ", " + backlog + ")");
        real.listen(fd, backlog);
    }

    @Override
    public int connect(int fd, byte[] sockaddr) throws SysException {
        check("connect", () -> "connect(" + fd(fd) + ", " + sockaddr.length + "-byte address)");
        return real.connect(fd, sockaddr);
    }

    @Override
    public void setsockopt(int fd, int level, int name, byte[] value) throws SysException {
        check("setsockopt", () -> "setsockopt(" + fd(fd) + ", " + level + ", " + name + ")");
        real.setsockopt(fd, level, name, value);
    }

    @Override
    public int sendFds(int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds, int fdCount)
            throws SysException {
        check("sendFds", () -> "sendmsg(" + fd(sock) + ", " + fdCount + " fds by SCM_RIGHTS)");
        return real.sendFds(sock, dest, payload, payloadLen, fds, fdCount);
    }

    @Override
    public Received recvFds(int sock, byte[] payload, int[] fdsOut) throws SysException {
        check("recvFds", () -> "recvmsg(" + fd(sock) + ")");
        return real.recvFds(sock, payload, fdsOut);
    }

    @Override
    public int read(int fd, byte[] buf, int off, int len) throws SysException {
        check("read", () -> "read(" + fd(fd) + ", " + len + " bytes)");
        return real.read(fd, buf, off, len);
    }

    @Override
    public int getsockopt(int fd, int level, int name, byte[] out) throws SysException {
        check("getsockopt", () -> "getsockopt(" + fd(fd) + ", " + level + ", " + name + ")");
        return real.getsockopt(fd, level, name, out);
    }

    @Override
    public byte[] getsockname(int fd) throws SysException {
        check("getsockname", () -> "getsockname(" + fd(fd) + ")");
        return real.getsockname(fd);
    }

    @Override
    public byte[] getpeername(int fd) throws SysException {
        check("getpeername", () -> "getpeername(" + fd(fd) + ")");
        return real.getpeername(fd);
    }

    @Override
    public int accept(int fd, int flags) throws SysException {
        check("accept", () -> "accept4(" + fd(fd) + ")");
        return real.accept(fd, flags);
    }

    @Override
    public void shutdown(int fd, int how) throws SysException {
        check("shutdown", () -> "shutdown(" + fd(fd) + ", " + how + ")");
        real.shutdown(fd, how);
    }

    @Override
    public int send(int fd, byte[] data, int off, int len, int[] fds, int fdCount) throws SysException {
        check("send", () -> "sendmsg(" + fd(fd) + ", " + len + " bytes, " + fdCount + " fds)");
        return real.send(fd, data, off, len, fds, fdCount);
    }

    @Override
    public int epollCreate(int flags) throws SysException {
        check("epollCreate", () -> "epoll_create1(" + flags + ")");
        return real.epollCreate(flags);
    }

    @Override
    public void epollCtl(int epfd, int op, int fd, int events, long data) throws SysException {
        check("epollCtl", () -> "epoll_ctl(" + fd(epfd) + ", " + op + ", fd " + fd + ", 0x" + Integer.toHexString(events) + ")");
        real.epollCtl(epfd, op, fd, events, data);
    }

    @Override
    public int timerfdCreate(int clockid, int flags) throws SysException {
        check("timerfdCreate", () -> "timerfd_create(" + clockid + ", " + flags + ")");
        return real.timerfdCreate(clockid, flags);
    }

    @Override
    public void timerfdSettime(int fd, int flags, long valueSec, long valueNsec, long intervalSec, long intervalNsec)
            throws SysException {
        check("timerfdSettime", () -> "timerfd_settime(" + fd(fd) + ", " + flags + ")");
        real.timerfdSettime(fd, flags, valueSec, valueNsec, intervalSec, intervalNsec);
    }

    @Override
    public long[] timerfdGettime(int fd) throws SysException {
        check("timerfdGettime", () -> "timerfd_gettime(" + fd(fd) + ")");
        return real.timerfdGettime(fd);
    }

    @Override
    public int eventfd(int initval, int flags) throws SysException {
        check("eventfd", () -> "eventfd2(" + initval + ", " + flags + ")");
        return real.eventfd(initval, flags);
    }

    @Override
    public int adopt(int jvmFd) throws SysException {
        check("adopt", () -> "adopt(JVM fd " + jvmFd + ")");
        return real.adopt(jvmFd);
    }

    /** Counted under the syscall's own name ({@code inotify_add_watch:1}), after the name is checked. */
    @Override
    public long syscall(String name, Object... args) throws SysException {
        fdrestore.api.spi.Syscalls.checkForTaskTable(name, args);
        check(name, () -> fdrestore.api.spi.Syscalls.describe(name, args));
        return real.syscall(name, args);
    }

    @Override
    public Batch batch() {
        return new FaultBatch(real.batch());
    }

    @Override
    public String toString() {
        return "FaultInjectingTable[" + real + "]";
    }

    /** Delegates at once; counts (and may fail) every call when the batch runs, before it runs. */
    private final class FaultBatch implements Batch {
        private final Batch b;
        private final List<String[]> calls = new ArrayList<>();

        FaultBatch(Batch b) {
            this.b = b;
        }

        /** For each noted call, its position in the wrapped batch (its first op). */
        private final List<Integer> positions = new ArrayList<>();
        private int failed = -1;

        /** Adds a call to the wrapped batch and notes it, at its position there, for the fault check of {@link #run()}. */
        private <T> T note(String syscall, String describe, java.util.function.Supplier<T> add) {
            int at;
            try {
                at = b.size();
            } catch (UnsupportedOperationException e) {
                at = calls.size();
            }
            T r = add.get(); // first: a call the wrapped batch refuses is not noted
            calls.add(new String[] {syscall, describe});
            positions.add(at);
            return r;
        }

        @Override
        public int size() {
            return b.size();
        }

        @Override
        public int failedCall() {
            return failed >= 0 ? failed : b.failedCall();
        }

        @Override
        public Ref open(String path, int flags, int mode) {
            return note("open", "open(" + Native.quote(path) + ", " + Linux.openFlags(flags) + ") in a batch",
                    () -> b.open(path, flags, mode));
        }

        @Override
        public Ref openAt2(int dirFd, String path, int flags, int mode, long resolve) {
            return note("openAt2", "openat2(" + Sys.dirfd(dirFd) + ", " + Native.quote(path) + ", "
                    + Linux.openFlags(flags) + ") in a batch", () -> b.openAt2(dirFd, path, flags, mode, resolve));
        }

        @Override
        public Ref openAt2(Ref dirFd, String path, int flags, int mode, long resolve) {
            return note("openAt2", "openat2(" + dirFd + ", " + Native.quote(path) + ", " + Linux.openFlags(flags)
                    + ") in a batch", () -> b.openAt2(dirFd, path, flags, mode, resolve));
        }

        @Override
        public StatRef fstat(Ref fd) {
            return note("fstat", "fstat(" + fd + ") in a batch", () -> b.fstat(fd));
        }

        @Override
        public Ref[] pipe(int flags) {
            return note("pipe", "pipe2(" + Linux.openFlags(flags) + ") in a batch", () -> b.pipe(flags));
        }

        @Override
        public Ref dup(Ref fd) {
            return note("dup", "dup(" + fd + ") in a batch", () -> b.dup(fd));
        }

        @Override
        public Ref write(Ref fd, byte[] data) {
            return note("write", "write(" + fd + ", <" + data.length + " bytes>) in a batch", () -> b.write(fd, data));
        }

        @Override
        public Ref socket(int domain, int type, int protocol) {
            return note("socket", "socket(" + domain + ", " + type + ", " + protocol + ") in a batch",
                    () -> b.socket(domain, type, protocol));
        }

        @Override
        public Ref setsockopt(Ref fd, int level, int name, byte[] value) {
            return note("setsockopt", "setsockopt(" + fd + ", " + level + ", " + name + ") in a batch",
                    () -> b.setsockopt(fd, level, name, value));
        }

        @Override
        public Ref bind(Ref fd, byte[] sockaddr) {
            return note("bind", "bind(" + fd + ") in a batch", () -> b.bind(fd, sockaddr));
        }

        @Override
        public Ref lseek(Ref fd, long offset, int whence) {
            return note("lseek", "lseek(" + fd + ", " + offset + ", " + whence + ") in a batch", () -> b.lseek(fd, offset, whence));
        }

        @Override
        public Ref fcntl(Ref fd, int cmd, long arg) {
            return note("fcntl", "fcntl(" + fd + ", " + cmd + ", " + arg + ") in a batch", () -> b.fcntl(fd, cmd, arg));
        }

        @Override
        public Ref ioctl(Ref fd, long request, long arg) {
            return note("ioctl", "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ") in a batch",
                    () -> b.ioctl(fd, request, arg));
        }

        @Override
        public Ref close(Ref fd) {
            return note("close", "close(" + fd + ") in a batch", () -> b.close(fd));
        }

        @Override
        public Ref fd(int fd) {
            return b.fd(fd);
        }

        @Override
        public void run() throws SysException {
            for (int i = 0; i < calls.size(); i++) {
                String[] c = calls.get(i);
                failed = positions.get(i);
                check(c[0], () -> c[1]);
            }
            failed = -1;
            b.run();
        }
    }
}
