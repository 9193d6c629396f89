package fdrestore.api.spi;

import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jnr.ffi.Pointer;

/**
 * Syscalls by name, for a kind that core has no typed call for (signalfd4, inotify_add_watch,
 * memfd_create ...). Names come from a table of known numbers per architecture (x86-64 and aarch64); an
 * unknown name or architecture is refused before any syscall, naming both.
 *
 * <p>The shape of a new kind: create the fd in the JVM's own table with {@link #local}, set it up there
 * (it is the same open file description the task will hold), then {@link TaskTable#adopt adopt} a copy
 * into the task's table and close the JVM's fd. What must be done at the fd inside the task's table goes
 * through {@link TaskTable#syscall}, which takes the same names and arguments.
 *
 * <p><b>Arguments</b> (at most {@value #MAX_ARGS}): an {@code Integer} or {@code Long} is passed as a
 * register value ({@code int}s sign-extended, as C does); a {@code byte[]} is copied into native memory,
 * its address passed, and copied back after the call (a struct, a buffer the kernel fills); a
 * {@code String} is passed as a NUL-terminated path; {@code null} is a NULL pointer. Anything else is
 * refused ({@code IllegalArgumentException}).
 */
public final class Syscalls {
    /** The most arguments a call takes here. */
    public static final int MAX_ARGS = 5;

    private Syscalls() {
    }

    /** x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
    private static final Map<String, Integer> X86_64 = Map.ofEntries(
            Map.entry("read", 0), Map.entry("write", 1), Map.entry("close", 3), Map.entry("lseek", 8),
            Map.entry("rt_sigprocmask", 14), Map.entry("ioctl", 16), Map.entry("pread64", 17),
            Map.entry("pwrite64", 18), Map.entry("dup", 32), Map.entry("dup2", 33), Map.entry("getpid", 39),
            Map.entry("sendfile", 40), Map.entry("socket", 41), Map.entry("connect", 42), Map.entry("accept", 43),
            Map.entry("sendto", 44), Map.entry("recvfrom", 45), Map.entry("sendmsg", 46), Map.entry("recvmsg", 47),
            Map.entry("shutdown", 48), Map.entry("bind", 49), Map.entry("listen", 50), Map.entry("getsockname", 51),
            Map.entry("getpeername", 52), Map.entry("socketpair", 53), Map.entry("setsockopt", 54),
            Map.entry("getsockopt", 55), Map.entry("kill", 62), Map.entry("fcntl", 72), Map.entry("ftruncate", 77),
            Map.entry("gettid", 186), Map.entry("epoll_ctl", 233), Map.entry("tgkill", 234),
            Map.entry("inotify_add_watch", 254), Map.entry("inotify_rm_watch", 255), Map.entry("openat", 257),
            Map.entry("timerfd_create", 283), Map.entry("fallocate", 285), Map.entry("timerfd_settime", 286),
            Map.entry("timerfd_gettime", 287), Map.entry("accept4", 288), Map.entry("signalfd4", 289),
            Map.entry("eventfd2", 290), Map.entry("epoll_create1", 291), Map.entry("dup3", 292),
            Map.entry("pipe2", 293), Map.entry("inotify_init1", 294), Map.entry("fanotify_init", 300),
            Map.entry("fanotify_mark", 301), Map.entry("name_to_handle_at", 303),
            Map.entry("open_by_handle_at", 304), Map.entry("kcmp", 312), Map.entry("memfd_create", 319),
            Map.entry("pidfd_send_signal", 424), Map.entry("pidfd_open", 434), Map.entry("close_range", 436),
            Map.entry("openat2", 437), Map.entry("pidfd_getfd", 438));

    /** aarch64 numbers (include/uapi/asm-generic/unistd.h). */
    private static final Map<String, Integer> AARCH64 = Map.ofEntries(
            Map.entry("read", 63), Map.entry("write", 64), Map.entry("close", 57), Map.entry("lseek", 62),
            Map.entry("rt_sigprocmask", 135), Map.entry("ioctl", 29), Map.entry("pread64", 67),
            Map.entry("pwrite64", 68), Map.entry("dup", 23), Map.entry("getpid", 172), Map.entry("sendfile", 71),
            Map.entry("socket", 198), Map.entry("connect", 203), Map.entry("accept", 202), Map.entry("sendto", 206),
            Map.entry("recvfrom", 207), Map.entry("sendmsg", 211), Map.entry("recvmsg", 212),
            Map.entry("shutdown", 210), Map.entry("bind", 200), Map.entry("listen", 201),
            Map.entry("getsockname", 204), Map.entry("getpeername", 205), Map.entry("socketpair", 199),
            Map.entry("setsockopt", 208), Map.entry("getsockopt", 209), Map.entry("kill", 129),
            Map.entry("fcntl", 25), Map.entry("ftruncate", 46), Map.entry("gettid", 178), Map.entry("epoll_ctl", 21),
            Map.entry("tgkill", 131), Map.entry("inotify_add_watch", 27), Map.entry("inotify_rm_watch", 28),
            Map.entry("openat", 56), Map.entry("timerfd_create", 85), Map.entry("fallocate", 47),
            Map.entry("timerfd_settime", 86), Map.entry("timerfd_gettime", 87), Map.entry("accept4", 242),
            Map.entry("signalfd4", 74), Map.entry("eventfd2", 19), Map.entry("epoll_create1", 20),
            Map.entry("dup3", 24), Map.entry("pipe2", 59), Map.entry("inotify_init1", 26),
            Map.entry("fanotify_init", 262), Map.entry("fanotify_mark", 263), Map.entry("name_to_handle_at", 264),
            Map.entry("open_by_handle_at", 265), Map.entry("kcmp", 272), Map.entry("memfd_create", 279),
            Map.entry("pidfd_send_signal", 424), Map.entry("pidfd_open", 434), Map.entry("close_range", 436),
            Map.entry("openat2", 437), Map.entry("pidfd_getfd", 438));

    /**
     * Calls that make or drop fds, or that the table already offers checked: refused by
     * {@link TaskTable#syscall}, whose fds must all be temporaries the engine counts. Make such an fd in
     * the JVM's table and adopt it; close with {@link TaskTable#close}.
     */
    static final Set<String> NOT_IN_TASK_TABLE = Set.of("close", "close_range", "dup", "dup2", "dup3", "socket",
            "socketpair", "accept", "accept4", "recvmsg", "recvfrom", "openat", "openat2", "open_by_handle_at",
            "pipe2", "eventfd2", "epoll_create1", "timerfd_create", "inotify_init1", "fanotify_init",
            "memfd_create", "pidfd_open", "pidfd_getfd", "fcntl", "ioctl");

    /** The architecture this JVM runs on, in the kernel's spelling ("x86_64", "aarch64"), or os.arch as is. */
    public static String arch() {
        String a = System.getProperty("os.arch", "?");
        return switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> a;
        };
    }

    /** The names this architecture's table knows, or an empty set. */
    public static Set<String> names() {
        Map<String, Integer> t = table(arch());
        return t == null ? Set.of() : t.keySet();
    }

    static Map<String, Integer> table(String arch) {
        return switch (arch) {
            case "x86_64" -> X86_64;
            case "aarch64" -> AARCH64;
            default -> null;
        };
    }

    /** The number of syscall {@code name} on {@code arch}; refuses an unknown name or architecture. */
    public static long number(String arch, String name) {
        Map<String, Integer> t = table(arch);
        if (t == null) {
            throw new IllegalArgumentException("syscall " + name + ": fdrestore has no syscall table for architecture "
                    + arch + " (known: x86_64, aarch64)");
        }
        Integer nr = t.get(name);
        if (nr == null) {
            throw new IllegalArgumentException("syscall " + name + ": not in fdrestore's " + arch
                    + " syscall table (Syscalls.names())");
        }
        return nr;
    }

    /** The number of syscall {@code name} on this architecture; refuses an unknown name or architecture. */
    public static long number(String name) {
        return number(arch(), name);
    }

    /** Checks {@code args} for {@code name}: count and types. Throws IllegalArgumentException. */
    public static void checkArgs(String name, Object... args) {
        if (args.length > MAX_ARGS) {
            throw new IllegalArgumentException("syscall " + name + ": " + args.length + " arguments, at most "
                    + MAX_ARGS);
        }
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a != null && !(a instanceof Integer) && !(a instanceof Long) && !(a instanceof byte[])
                    && !(a instanceof String)) {
                throw new IllegalArgumentException("syscall " + name + ": argument " + (i + 1) + " is a "
                        + a.getClass().getName() + " (Integer, Long, byte[], String or null only)");
            }
        }
    }

    /**
     * Refuses, before any syscall, what {@link TaskTable#syscall} must not do in a task's table: an unknown
     * name, a call that makes or drops fds ({@link #NOT_IN_TASK_TABLE}), or signalfd4 on fd -1 (a new fd).
     */
    public static long checkForTaskTable(String name, Object... args) {
        long nr = number(name);
        checkArgs(name, args);
        if (NOT_IN_TASK_TABLE.contains(name)) {
            throw new IllegalArgumentException("syscall " + name + " is refused in a task's table: its fds must be "
                    + "temporaries the engine counts (make the fd in the JVM's table with Syscalls.local and adopt it) "
                    + "or it has a checked TaskTable call");
        }
        if (name.equals("signalfd4") && args.length > 0 && args[0] instanceof Number n && n.intValue() < 0) {
            throw new IllegalArgumentException("syscall signalfd4 on fd " + n + " makes a new fd: make it in the JVM's "
                    + "table with Syscalls.local and adopt it");
        }
        return nr;
    }

    /** The call as text for errors: {@code name(1, <16 bytes>, "/path")}. */
    public static String describe(String name, Object... args) {
        StringBuilder sb = new StringBuilder(name).append('(');
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (i > 0) {
                sb.append(", ");
            }
            if (a == null) {
                sb.append("NULL");
            } else if (a instanceof byte[] b) {
                sb.append('<').append(b.length).append(" bytes>");
            } else if (a instanceof String s) {
                sb.append(Native.quote(s));
            } else if (a instanceof Long l && (l > 0xffff || l < -0xffff)) {
                sb.append("0x").append(Long.toHexString(l));
            } else {
                sb.append(a);
            }
        }
        return sb.append(')').toString();
    }

    /** A NUL-terminated copy of {@code s}, as a path argument is passed. */
    public static byte[] cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    /**
     * Runs syscall {@code name} in the JVM's own fd table (on the calling thread), checked: returns its
     * result, or throws {@link SysException} naming the call, its arguments and the errno. An fd it makes
     * is the caller's, in the JVM's table: close it ({@link #closeLocal}) on every path.
     */
    public static long local(String name, Object... args) throws SysException {
        long nr = number(name);
        checkArgs(name, args);
        long[] v = new long[MAX_ARGS];
        Pointer[] mem = new Pointer[MAX_ARGS];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a instanceof byte[] b) {
                mem[i] = Native.allocate(Math.max(1, b.length));
                mem[i].put(0, b, 0, b.length);
                v[i] = mem[i].address();
            } else if (a instanceof String s) {
                mem[i] = Native.allocateString(s);
                v[i] = mem[i].address();
            } else if (a instanceof Number n) {
                v[i] = n.longValue();
            }
        }
        long r = Sys.libc().syscall(nr, v[0], v[1], v[2], v[3], v[4]);
        int errno = r < 0 ? Native.errno() : 0;
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof byte[] b) {
                mem[i].get(0, b, 0, b.length);
            }
        }
        if (r < 0) {
            throw new SysException(describe(name, args) + " in the JVM's table", errno);
        }
        return r;
    }

    /** close(2) of an fd of the JVM's own table that {@link #local} made. */
    public static void closeLocal(int fd) throws SysException {
        Sys.close(fd);
    }

    /**
     * Closes every fd of {@code fds} (the JVM's own, made by {@link #local}), last first, and empties the
     * list, as {@link TaskTable#closeAll} does for a task's. A close that fails is added to {@code failure}
     * as suppressed; with no failure (null: the normal path), the first close that failed is thrown once
     * all are closed.
     */
    public static void closeAllLocal(java.util.List<Integer> fds, Throwable failure) throws SysException {
        SysException first = null;
        for (int i = fds.size() - 1; i >= 0; i--) {
            try {
                closeLocal(fds.get(i));
            } catch (SysException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else if (first == null) {
                    first = e;
                }
            }
        }
        fds.clear();
        if (first != null) {
            throw first;
        }
    }
}
