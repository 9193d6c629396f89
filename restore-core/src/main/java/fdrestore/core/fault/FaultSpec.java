package fdrestore.core.fault;

import fdrestore.api.sys.Errno;
import java.util.Locale;

/**
 * One fault to inject: the {@code n}-th call (1-based) of {@code syscall} fails with {@code errno}, counted
 * over every task's table ({@code pid} {@link #ANY_TASK}) or over the table of the task with image pid
 * {@code pid}. Syscall names are the {@link fdrestore.api.spi.TaskTable} method names, matched without
 * case ({@code open}, {@code openat2}, {@code pipe}, {@code place}, {@code sendFds}, {@code epollCtl} ...);
 * the pseudo-call {@value #SPAWN} is the N-th process the restore creates, which is killed (SIGKILL) as
 * soon as it exists, instead of a call failing.
 */
public record FaultSpec(String syscall, int n, int errno, int pid) {
    /** {@link #pid} for "count the calls of every task together". */
    public static final int ANY_TASK = -1;
    /** The pseudo-syscall "a process of the tree was just created": it is killed at once. */
    public static final String SPAWN = "spawn";

    public FaultSpec {
        if (syscall == null || syscall.isBlank()) {
            throw new IllegalArgumentException("a fault needs a syscall name");
        }
        syscall = syscall.toLowerCase(Locale.ROOT);
        if (n < 1) {
            throw new IllegalArgumentException("the call number of a fault counts from 1, not " + n);
        }
        if (errno < 1 || errno > 4095) {
            throw new IllegalArgumentException("errno " + errno + " is not an errno value");
        }
    }

    /** The N-th call of {@code syscall} in any task fails with EIO. */
    public static FaultSpec of(String syscall, int n) {
        return new FaultSpec(syscall, n, Errno.EIO, ANY_TASK);
    }

    /**
     * Parses {@code SYSCALL:N[:ERRNO][@PID]}: ERRNO is a number or a name ({@code EIO}, the default,
     * {@code ENOMEM} ...), PID an image pid.
     */
    public static FaultSpec parse(String text) {
        String s = text.strip();
        int pid = ANY_TASK;
        int at = s.lastIndexOf('@');
        if (at >= 0) {
            pid = parseInt(s.substring(at + 1), "image pid", text);
            s = s.substring(0, at);
        }
        String[] p = s.split(":", -1);
        if (p.length < 2 || p.length > 3 || p[0].isBlank()) {
            throw new IllegalArgumentException("'" + text + "': expected SYSCALL:N[:ERRNO][@PID], e.g. open:2, "
                    + "sendFds:1:EAGAIN@1, spawn:1");
        }
        int n = parseInt(p[1], "call number", text);
        int errno = p.length == 3 ? parseErrno(p[2], text) : Errno.EIO;
        try {
            return new FaultSpec(p[0], n, errno, pid);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "': " + e.getMessage(), e);
        }
    }

    private static int parseInt(String s, String what, String text) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': the " + what + " '" + s + "' is not a number", e);
        }
    }

    private static int parseErrno(String s, String text) {
        String t = s.strip();
        if (!t.isEmpty() && Character.isDigit(t.charAt(0))) {
            return parseInt(t, "errno", text);
        }
        for (int e = 1; e < 200; e++) {
            if (t.equalsIgnoreCase(Errno.name(e))) {
                return e;
            }
        }
        throw new IllegalArgumentException("'" + text + "': unknown errno name '" + s + "'");
    }

    @Override
    public String toString() {
        String e = Errno.name(errno);
        return syscall + ":" + n + ":" + (e != null ? e : Integer.toString(errno)) + (pid == ANY_TASK ? "" : "@" + pid);
    }
}
