package fdrestore.api.sys;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.Library;
import com.kenai.jffi.Type;

/**
 * {@link LibC} written out by hand over jffi, the native layer under jnr-ffi: each method is one
 * {@code Invoker.invokeN*} call of a symbol resolved once, with a call context that saves errno.
 *
 * <p>This is the call jnr-ffi's {@code LibraryLoader} generates for an interface whose arguments are all
 * primitives, without generating it: jnr-ffi writes that class with ASM at every JVM start, which was
 * the largest single cost of a cold restore (about 40% of the main thread before the first image read,
 * in JFR samples of a g_regfile restore). A class written here is also one an AOT or CDS archive holds.
 * Nothing is allocated per call, so executor threads may call it after {@code unshare}.
 *
 * <p>Types follow what jnr-ffi used for this interface: Java {@code int} is a C int, {@code long} a 64-bit
 * integer (pointers and sizes are 64-bit here), {@code short} a C short.
 */
final class DirectLibC implements LibC {
    private static final Type I = Type.SINT32;
    private static final Type L = Type.SINT64;

    /** One bound function: its call context and its address. */
    private static final class Fn {
        final CallContext ctx;
        final long at;

        Fn(CallContext ctx, long at) {
            this.ctx = ctx;
            this.at = at;
        }
    }

    private final Invoker inv = Invoker.getInstance();
    private final Library lib;

    private final Fn open;
    private final Fn openat;
    private final Fn close;
    private final Fn dup;
    private final Fn dup3;
    private final Fn fcntl;
    private final Fn ioctl;
    private final Fn lseek;
    private final Fn read;
    private final Fn write;
    private final Fn pipe2;
    private final Fn socket;
    private final Fn socketpair;
    private final Fn bind;
    private final Fn listen;
    private final Fn connect;
    private final Fn setsockopt;
    private final Fn getsockopt;
    private final Fn sendmsg;
    private final Fn recvmsg;
    private final Fn fstat;
    private final Fn tee;
    private final Fn unshare;
    private final Fn getpid;
    private final Fn getrlimit;
    private final Fn setrlimit;
    private final Fn prlimit;
    private final Fn waitpid;
    private final Fn kill;
    private final Fn syscall0;
    private final Fn syscall1;
    private final Fn syscall2;
    private final Fn syscall3;
    private final Fn syscall4;
    private final Fn syscall5;
    private final Fn spawn;
    private final Fn attrInit;
    private final Fn attrSetflags;
    private final Fn attrSetpgroup;
    private final Fn attrSetsigmask;
    private final Fn attrSetsigdefault;
    private final Fn attrDestroy;
    private final Fn actionsInit;
    private final Fn actionsAdddup2;
    private final Fn actionsAddclose;
    private final Fn actionsAddopen;
    private final Fn actionsAddchdir;
    private final Fn actionsDestroy;

    /**
     * Binds every function of {@code libraryName} now.
     *
     * @throws UnsatisfiedLinkError if the library or one of the symbols is missing
     */
    DirectLibC(String libraryName) {
        lib = Library.getCachedInstance(libraryName, Library.NOW | Library.LOCAL);
        if (lib == null) {
            throw new UnsatisfiedLinkError("cannot load " + libraryName + ": " + Library.getLastError());
        }
        open = fn("open", I, L, I, I);
        openat = fn("openat", I, I, L, I, I);
        close = fn("close", I, I);
        dup = fn("dup", I, I);
        dup3 = fn("dup3", I, I, I, I);
        fcntl = fn("fcntl", I, I, I, L);
        ioctl = fn("ioctl", I, I, L, L);
        lseek = fn("lseek", L, I, L, I);
        read = fn("read", L, I, L, L);
        write = fn("write", L, I, L, L);
        pipe2 = fn("pipe2", I, L, I);
        socket = fn("socket", I, I, I, I);
        socketpair = fn("socketpair", I, I, I, I, L);
        bind = fn("bind", I, I, L, I);
        listen = fn("listen", I, I, I);
        connect = fn("connect", I, I, L, I);
        setsockopt = fn("setsockopt", I, I, I, I, L, I);
        getsockopt = fn("getsockopt", I, I, I, I, L, L);
        sendmsg = fn("sendmsg", L, I, L, I);
        recvmsg = fn("recvmsg", L, I, L, I);
        fstat = fn("fstat", I, I, L);
        tee = fn("tee", L, I, I, L, I);
        unshare = fn("unshare", I, I);
        getpid = fn("getpid", I);
        getrlimit = fn("getrlimit", I, I, L);
        setrlimit = fn("setrlimit", I, I, L);
        prlimit = fn("prlimit", I, I, I, L, L);
        waitpid = fn("waitpid", I, I, L, I);
        kill = fn("kill", I, I, I);
        syscall0 = fn("syscall", L, L);
        syscall1 = fn("syscall", L, L, L);
        syscall2 = fn("syscall", L, L, L, L);
        syscall3 = fn("syscall", L, L, L, L, L);
        syscall4 = fn("syscall", L, L, L, L, L, L);
        syscall5 = fn("syscall", L, L, L, L, L, L, L);
        spawn = fn("posix_spawn", I, L, L, L, L, L, L);
        attrInit = fn("posix_spawnattr_init", I, L);
        attrSetflags = fn("posix_spawnattr_setflags", I, L, Type.SINT16);
        attrSetpgroup = fn("posix_spawnattr_setpgroup", I, L, I);
        attrSetsigmask = fn("posix_spawnattr_setsigmask", I, L, L);
        attrSetsigdefault = fn("posix_spawnattr_setsigdefault", I, L, L);
        attrDestroy = fn("posix_spawnattr_destroy", I, L);
        actionsInit = fn("posix_spawn_file_actions_init", I, L);
        actionsAdddup2 = fn("posix_spawn_file_actions_adddup2", I, L, I, I);
        actionsAddclose = fn("posix_spawn_file_actions_addclose", I, L, I);
        actionsAddopen = fn("posix_spawn_file_actions_addopen", I, L, I, L, I, I);
        actionsAddchdir = fn("posix_spawn_file_actions_addchdir_np", I, L, L);
        actionsDestroy = fn("posix_spawn_file_actions_destroy", I, L);
    }

    private Fn fn(String name, Type result, Type... params) {
        long at = lib.getSymbolAddress(name);
        if (at == 0L) {
            throw new UnsatisfiedLinkError("libc has no " + name + ": " + Library.getLastError());
        }
        return new Fn(CallContext.getCallContext(result, params, CallingConvention.DEFAULT, true), at);
    }

    @Override
    public int open(long path, int flags, int mode) {
        return (int) inv.invokeN3(open.ctx, open.at, path, flags, mode);
    }

    @Override
    public int openat(int dirfd, long path, int flags, int mode) {
        return (int) inv.invokeN4(openat.ctx, openat.at, dirfd, path, flags, mode);
    }

    @Override
    public int close(int fd) {
        return (int) inv.invokeN1(close.ctx, close.at, fd);
    }

    @Override
    public int dup(int fd) {
        return (int) inv.invokeN1(dup.ctx, dup.at, fd);
    }

    @Override
    public int dup3(int oldfd, int newfd, int flags) {
        return (int) inv.invokeN3(dup3.ctx, dup3.at, oldfd, newfd, flags);
    }

    @Override
    public int fcntl(int fd, int cmd, long arg) {
        return (int) inv.invokeN3(fcntl.ctx, fcntl.at, fd, cmd, arg);
    }

    @Override
    public int ioctl(int fd, long request, long arg) {
        return (int) inv.invokeN3(ioctl.ctx, ioctl.at, fd, request, arg);
    }

    @Override
    public long lseek(int fd, long offset, int whence) {
        return inv.invokeN3(lseek.ctx, lseek.at, fd, offset, whence);
    }

    @Override
    public long read(int fd, long buf, long count) {
        return inv.invokeN3(read.ctx, read.at, fd, buf, count);
    }

    @Override
    public long write(int fd, long buf, long count) {
        return inv.invokeN3(write.ctx, write.at, fd, buf, count);
    }

    @Override
    public int pipe2(long fds, int flags) {
        return (int) inv.invokeN2(pipe2.ctx, pipe2.at, fds, flags);
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        return (int) inv.invokeN3(socket.ctx, socket.at, domain, type, protocol);
    }

    @Override
    public int socketpair(int domain, int type, int protocol, long sv) {
        return (int) inv.invokeN4(socketpair.ctx, socketpair.at, domain, type, protocol, sv);
    }

    @Override
    public int bind(int fd, long addr, int addrlen) {
        return (int) inv.invokeN3(bind.ctx, bind.at, fd, addr, addrlen);
    }

    @Override
    public int listen(int fd, int backlog) {
        return (int) inv.invokeN2(listen.ctx, listen.at, fd, backlog);
    }

    @Override
    public int connect(int fd, long addr, int addrlen) {
        return (int) inv.invokeN3(connect.ctx, connect.at, fd, addr, addrlen);
    }

    @Override
    public int setsockopt(int fd, int level, int name, long value, int len) {
        return (int) inv.invokeN5(setsockopt.ctx, setsockopt.at, fd, level, name, value, len);
    }

    @Override
    public int getsockopt(int fd, int level, int name, long value, long lenPtr) {
        return (int) inv.invokeN5(getsockopt.ctx, getsockopt.at, fd, level, name, value, lenPtr);
    }

    @Override
    public long sendmsg(int fd, long msghdr, int flags) {
        return inv.invokeN3(sendmsg.ctx, sendmsg.at, fd, msghdr, flags);
    }

    @Override
    public long recvmsg(int fd, long msghdr, int flags) {
        return inv.invokeN3(recvmsg.ctx, recvmsg.at, fd, msghdr, flags);
    }

    @Override
    public int fstat(int fd, long statbuf) {
        return (int) inv.invokeN2(fstat.ctx, fstat.at, fd, statbuf);
    }

    @Override
    public long tee(int fdIn, int fdOut, long len, int flags) {
        return inv.invokeN4(tee.ctx, tee.at, fdIn, fdOut, len, flags);
    }

    @Override
    public int unshare(int flags) {
        return (int) inv.invokeN1(unshare.ctx, unshare.at, flags);
    }

    @Override
    public int getpid() {
        return (int) inv.invokeN0(getpid.ctx, getpid.at);
    }

    @Override
    public int getrlimit(int resource, long rlimit) {
        return (int) inv.invokeN2(getrlimit.ctx, getrlimit.at, resource, rlimit);
    }

    @Override
    public int setrlimit(int resource, long rlimit) {
        return (int) inv.invokeN2(setrlimit.ctx, setrlimit.at, resource, rlimit);
    }

    @Override
    public int prlimit(int pid, int resource, long newLimit, long oldLimit) {
        return (int) inv.invokeN4(prlimit.ctx, prlimit.at, pid, resource, newLimit, oldLimit);
    }

    @Override
    public int waitpid(int pid, long status, int options) {
        return (int) inv.invokeN3(waitpid.ctx, waitpid.at, pid, status, options);
    }

    @Override
    public int kill(int pid, int sig) {
        return (int) inv.invokeN2(kill.ctx, kill.at, pid, sig);
    }

    @Override
    public long syscall(long number) {
        return inv.invokeN1(syscall0.ctx, syscall0.at, number);
    }

    @Override
    public long syscall(long number, long a1) {
        return inv.invokeN2(syscall1.ctx, syscall1.at, number, a1);
    }

    @Override
    public long syscall(long number, long a1, long a2) {
        return inv.invokeN3(syscall2.ctx, syscall2.at, number, a1, a2);
    }

    @Override
    public long syscall(long number, long a1, long a2, long a3) {
        return inv.invokeN4(syscall3.ctx, syscall3.at, number, a1, a2, a3);
    }

    @Override
    public long syscall(long number, long a1, long a2, long a3, long a4) {
        return inv.invokeN5(syscall4.ctx, syscall4.at, number, a1, a2, a3, a4);
    }

    @Override
    public long syscall(long number, long a1, long a2, long a3, long a4, long a5) {
        return inv.invokeN6(syscall5.ctx, syscall5.at, number, a1, a2, a3, a4, a5);
    }

    @Override
    public int posix_spawn(long pidOut, long path, long fileActions, long attr, long argv, long envp) {
        return (int) inv.invokeN6(spawn.ctx, spawn.at, pidOut, path, fileActions, attr, argv, envp);
    }

    @Override
    public int posix_spawnattr_init(long attr) {
        return (int) inv.invokeN1(attrInit.ctx, attrInit.at, attr);
    }

    @Override
    public int posix_spawnattr_setflags(long attr, short flags) {
        return (int) inv.invokeN2(attrSetflags.ctx, attrSetflags.at, attr, flags);
    }

    @Override
    public int posix_spawnattr_setpgroup(long attr, int pgroup) {
        return (int) inv.invokeN2(attrSetpgroup.ctx, attrSetpgroup.at, attr, pgroup);
    }

    @Override
    public int posix_spawnattr_setsigmask(long attr, long sigset) {
        return (int) inv.invokeN2(attrSetsigmask.ctx, attrSetsigmask.at, attr, sigset);
    }

    @Override
    public int posix_spawnattr_setsigdefault(long attr, long sigset) {
        return (int) inv.invokeN2(attrSetsigdefault.ctx, attrSetsigdefault.at, attr, sigset);
    }

    @Override
    public int posix_spawnattr_destroy(long attr) {
        return (int) inv.invokeN1(attrDestroy.ctx, attrDestroy.at, attr);
    }

    @Override
    public int posix_spawn_file_actions_init(long fileActions) {
        return (int) inv.invokeN1(actionsInit.ctx, actionsInit.at, fileActions);
    }

    @Override
    public int posix_spawn_file_actions_adddup2(long fileActions, int fd, int newfd) {
        return (int) inv.invokeN3(actionsAdddup2.ctx, actionsAdddup2.at, fileActions, fd, newfd);
    }

    @Override
    public int posix_spawn_file_actions_addclose(long fileActions, int fd) {
        return (int) inv.invokeN2(actionsAddclose.ctx, actionsAddclose.at, fileActions, fd);
    }

    @Override
    public int posix_spawn_file_actions_addopen(long fileActions, int fd, long path, int oflag, int mode) {
        return (int) inv.invokeN5(actionsAddopen.ctx, actionsAddopen.at, fileActions, fd, path, oflag, mode);
    }

    @Override
    public int posix_spawn_file_actions_addchdir_np(long fileActions, long path) {
        return (int) inv.invokeN2(actionsAddchdir.ctx, actionsAddchdir.at, fileActions, path);
    }

    @Override
    public int posix_spawn_file_actions_destroy(long fileActions) {
        return (int) inv.invokeN1(actionsDestroy.ctx, actionsDestroy.at, fileActions);
    }
}
