package fdrestore.core.runtime;

import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;

/**
 * The calls of an {@link ExecutorTaskTable} that have no op of their own: epoll, timerfd and eventfd
 * through the general syscall ops (OP_SYSCALL, and OP_SYSCALL_FD for a new fd, moved above the floor),
 * {@link fdrestore.api.spi.TaskTable#syscall} by name (OP_SYSCALL5) and adopt (OP_ADOPT).
 */
final class GeneralCalls {
    private GeneralCalls() {
    }

    static int epollCreate(ExecutorTaskTable t, int flags) throws SysException {
        return (int) t.call(ExecutorCore.OP_SYSCALL_FD, Linux.SYS_EPOLL_CREATE1, flags | Linux.O_CLOEXEC, 0, 0, 0,
                flags, (c, a, r) -> "epoll_create1(" + r + ")");
    }

    static void epollCtl(ExecutorTaskTable t, int epfd, int op, int fd, int events, long data) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(12));
            long ev = t.arena.alloc(12);
            t.arena.putInt(ev, events);
            t.arena.putLong(ev + 4, data);
            t.call(ExecutorCore.OP_SYSCALL, Linux.SYS_EPOLL_CTL, epfd, op, fd, ev, null, (c, a, r) -> "epoll_ctl("
                    + c.a1 + ", " + c.a2 + ", " + c.a3 + ", {events=0x" + Integer.toHexString(a.getInt(c.a4))
                    + ", data=0x" + Long.toHexString(a.getLong(c.a4 + 4)) + "})");
        }
    }

    static int timerfdCreate(ExecutorTaskTable t, int clockid, int flags) throws SysException {
        return (int) t.call(ExecutorCore.OP_SYSCALL_FD, Linux.SYS_TIMERFD_CREATE, clockid, flags | Linux.O_CLOEXEC, 0, 0,
                flags, (c, a, r) -> "timerfd_create(" + c.a1 + ", " + r + ")");
    }

    static void timerfdSettime(ExecutorTaskTable t, int fd, int flags, long valueSec, long valueNsec, long intervalSec,
            long intervalNsec)
            throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(32));
            long its = t.arena.alloc(32);
            t.arena.putLong(its, intervalSec);
            t.arena.putLong(its + 8, intervalNsec);
            t.arena.putLong(its + 16, valueSec);
            t.arena.putLong(its + 24, valueNsec);
            t.call(ExecutorCore.OP_SYSCALL, Linux.SYS_TIMERFD_SETTIME, fd, flags, its, 0, null, (c, a, r) ->
                    "timerfd_settime(" + c.a1 + ", " + c.a2 + ", {value=" + a.getLong(c.a3 + 16) + "."
                    + a.getLong(c.a3 + 24) + ", interval=" + a.getLong(c.a3) + "." + a.getLong(c.a3 + 8) + "})");
        }
    }

    static long[] timerfdGettime(ExecutorTaskTable t, int fd) throws SysException {
        synchronized (t.lock) {
            t.arena.reset(Arena.space(32));
            long its = t.arena.alloc(32);
            t.call(ExecutorCore.OP_SYSCALL, Linux.SYS_TIMERFD_GETTIME, fd, its, 0, 0, null,
                    (c, a, r) -> "timerfd_gettime(" + c.a1 + ")");
            return new long[] {t.arena.getLong(its + 16), t.arena.getLong(its + 24), t.arena.getLong(its),
                t.arena.getLong(its + 8)};
        }
    }

    static int eventfd(ExecutorTaskTable t, int initval, int flags) throws SysException {
        return (int) t.call(ExecutorCore.OP_SYSCALL_FD, Linux.SYS_EVENTFD2, initval & 0xffffffffL,
                flags | Linux.O_CLOEXEC, 0, 0, flags,
                (c, a, r) -> "eventfd2(" + Long.toUnsignedString(c.a1) + ", " + r + ")");
    }

    static int adopt(ExecutorTaskTable t, int jvmFd) throws SysException {
        if (jvmFd < 0) {
            throw new IllegalArgumentException("adopt(" + jvmFd + "): not an fd");
        }
        return (int) t.call(ExecutorCore.OP_ADOPT, Sys.gettid(), jvmFd, 0, 0, 0, null,
                (c, a, r) -> "adopt(JVM fd " + c.a1 + ") (pidfd_getfd)");
    }

    static long syscall(ExecutorTaskTable t, String name, Object... args) throws SysException {
        long nr = Syscalls.checkForTaskTable(name, args);
        synchronized (t.lock) {
            int need = 0;
            for (Object a : args) {
                if (a instanceof byte[] b) {
                    need += Arena.space(b.length);
                } else if (a instanceof String str) {
                    need += Arena.space(Syscalls.cString(str).length);
                }
            }
            t.arena.reset(need);
            long[] v = new long[Syscalls.MAX_ARGS];
            long[] at = new long[Syscalls.MAX_ARGS];
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof byte[] b) {
                    v[i] = at[i] = t.arena.put(b, 0, b.length);
                } else if (a instanceof String str) {
                    byte[] c = Syscalls.cString(str);
                    v[i] = t.arena.put(c, 0, c.length);
                } else if (a instanceof Number n) {
                    v[i] = n.longValue();
                }
            }
            t.core.ext[0] = v[4];
            boolean ok = t.tryCall(ExecutorCore.OP_SYSCALL5, nr, v[0], v[1], v[2], v[3]);
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof byte[] b && b.length > 0) {
                    t.arena.get(at[i], b, 0, b.length);
                }
            }
            if (!ok) {
                throw t.failure(Syscalls.describe(name, args));
            }
            return t.core.r0;
        }
    }
}
