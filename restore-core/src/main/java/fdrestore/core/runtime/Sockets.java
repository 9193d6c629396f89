package fdrestore.core.runtime;

import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.SysException;

/**
 * The socket calls of an {@link ExecutorTaskTable} (socket, bind, listen, connect, accept, options and
 * names, shutdown), encoded like every call of the table: arguments in the request and the arena, the
 * failure text built only on failure. sendmsg/recvmsg are {@link Messages}.
 */
final class Sockets {
    private Sockets() {
    }

    static int socket(ExecutorTaskTable t, int domain, int type, int protocol) throws SysException {
        return (int) t.call(ExecutorCore.OP_SOCKET, domain, type, protocol, 0, 0, null,
                (c, a, r) -> "socket(" + c.a0 + ", " + c.a1 + ", " + c.a2 + ")");
    }

    static int[] socketpair(ExecutorTaskTable t, int domain, int type, int protocol) throws SysException {
        synchronized (t.lock) {
            t.call(ExecutorCore.OP_SOCKETPAIR, domain, type, protocol, 0, 0, null,
                    (c, a, r) -> "socketpair(" + c.a0 + ", " + c.a1 + ", " + c.a2 + ")");
            return new int[] {(int) t.core.r0, (int) t.core.r1};
        }
    }

    static int accept(ExecutorTaskTable t, int fd, int flags) throws SysException {
        synchronized (t.lock) {
            if (t.tryCall(ExecutorCore.OP_SYSCALL_FD, Linux.SYS_ACCEPT4, fd, 0, 0, flags | Linux.SOCK_CLOEXEC)) {
                return (int) t.core.r0;
            }
            if (t.core.err == Errno.EAGAIN && t.core.phase == ExecutorCore.PH_MAIN) {
                return -1;
            }
            throw t.failure("accept4(" + fd + ", " + flags + ")");
        }
    }

    static void shutdown(ExecutorTaskTable t, int fd, int how) throws SysException {
        t.call(ExecutorCore.OP_SYSCALL, Linux.SYS_SHUTDOWN, fd, how, 0, 0, null,
                (c, a, r) -> "shutdown(" + c.a1 + ", " + c.a2 + ")");
    }

    static byte[] sockName(ExecutorTaskTable t, long nr, int fd, String call) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(128) + Arena.space(4));
            long at = t.arena.alloc(128);
            long lenp = t.arena.alloc(4);
            t.arena.putInt(lenp, 128);
            t.call(ExecutorCore.OP_SYSCALL, nr, fd, at, lenp, 0, call, (c, a, r) -> r + "(" + c.a1 + ")");
            byte[] out = new byte[Math.min(t.arena.getInt(lenp), 128)];
            t.arena.get(at, out, 0, out.length);
            return out;
        }
    }

    static byte[] getsockname(ExecutorTaskTable t, int fd) throws SysException {
        return sockName(t, Linux.SYS_GETSOCKNAME, fd, "getsockname");
    }

    static byte[] getpeername(ExecutorTaskTable t, int fd) throws SysException {
        return sockName(t, Linux.SYS_GETPEERNAME, fd, "getpeername");
    }

    static void bind(ExecutorTaskTable t, int fd, byte[] sockaddr) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(sockaddr.length));
            t.call(ExecutorCore.OP_BIND, fd, t.arena.put(sockaddr, 0, sockaddr.length), sockaddr.length, 0, 0, sockaddr,
                    (c, a, r) -> "bind(" + c.a0 + ", " + Native.sockaddr((byte[]) r) + ")");
        }
    }

    static void listen(ExecutorTaskTable t, int fd, int backlog) throws SysException {
        t.call(ExecutorCore.OP_LISTEN, fd, backlog, 0, 0, 0, null, (c, a, r) -> "listen(" + c.a0 + ", " + c.a1 + ")");
    }

    static int connect(ExecutorTaskTable t, int fd, byte[] sockaddr) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(sockaddr.length));
            return (int) t.call(ExecutorCore.OP_CONNECT, fd, t.arena.put(sockaddr, 0, sockaddr.length), sockaddr.length,
                    0, 0, sockaddr, (c, a, r) -> "connect(" + c.a0 + ", " + Native.sockaddr((byte[]) r) + ")");
        }
    }

    static void setsockopt(ExecutorTaskTable t, int fd, int level, int name, byte[] value) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(value.length));
            t.call(ExecutorCore.OP_SETSOCKOPT, fd, level, name, t.arena.put(value, 0, value.length), value.length, null,
                    (c, a, r) -> "setsockopt(" + c.a0 + ", " + c.a1 + ", " + c.a2 + ", <" + c.a4 + " bytes>)");
        }
    }

    /** getsockopt(2) into {@code out}; returns the option's length. */
    static int getsockopt(ExecutorTaskTable t, int fd, int level, int name, byte[] out) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(out.length) + Arena.space(4));
            long at = t.arena.alloc(out.length);
            long lenp = t.arena.alloc(4);
            t.arena.putInt(lenp, out.length);
            t.call(ExecutorCore.OP_GETSOCKOPT, fd, level, name, at, lenp, null,
                    (c, a, r) -> "getsockopt(" + c.a0 + ", " + c.a1 + ", " + c.a2 + ")");
            int len = t.arena.getInt(lenp);
            t.arena.get(at, out, 0, Math.min(len, out.length));
            return len;
        }
    }
}
