package fdrestore.api.sys;

import java.util.ArrayList;
import java.util.List;

/**
 * Kernel feature probes for {@code fdrestore check}. Every probe returns a {@link Probe}, never throws, and
 * closes every fd it opens.
 */
public final class Features {
    private Features() {
    }

    /** One probe's verdict. */
    public record Probe(String name, boolean ok, String detail) {
    }

    /** Every probe, in a stable order. */
    public static List<Probe> probeAll() {
        List<Probe> out = new ArrayList<>();
        out.add(guard("unshare(CLONE_FILES)", Features::unshareFiles));
        out.add(guard("kcmp", Features::kcmp));
        out.add(guard("pidfd_open+pidfd_getfd", Features::pidfd));
        out.add(guard("/dev/ptmx", Features::ptmx));
        out.add(guard("TIOCGPTPEER", Features::ptPeer));
        out.add(guard("sock_diag", Features::sockDiag));
        out.add(guard("openat2(RESOLVE_IN_ROOT)", Features::openat2));
        out.add(guard("close_range", Features::closeRange));
        out.add(guard("RLIMIT_NOFILE", Features::rlimit));
        return out;
    }

    private interface Body {
        Probe run(String name) throws Exception;
    }

    private static Probe guard(String name, Body body) {
        try {
            return body.run(name);
        } catch (SysException e) {
            return new Probe(name, false, e.getMessage());
        } catch (Throwable t) {
            return new Probe(name, false, t.toString());
        }
    }

    /** unshare(CLONE_FILES) in a throwaway thread; kcmp(KCMP_FILES) then tells whether the table is private. */
    public static Probe unshareFiles(String name) throws InterruptedException {
        LibC c = Native.libc();
        int[] result = new int[4]; // rc, errno, tid, kcmp
        int mainTid = Sys.gettid();
        c.syscall(Linux.SYS_KCMP, mainTid, mainTid, Linux.KCMP_FILES, 0, 0); // bind before unshare
        Thread t = new Thread(() -> {
            // native-only after unshare: primitives and bound stubs only
            int tid = (int) c.syscall(Linux.SYS_GETTID);
            int rc = c.unshare(Linux.CLONE_FILES);
            result[0] = rc;
            result[1] = rc < 0 ? Native.errno() : 0;
            result[2] = tid;
            result[3] = rc < 0 ? -1 : (int) c.syscall(Linux.SYS_KCMP, mainTid, tid, Linux.KCMP_FILES, 0, 0);
        }, "fdrestore-probe-unshare");
        t.setDaemon(true);
        t.setUncaughtExceptionHandler((th, e) -> { });
        t.start();
        t.join(10_000);
        if (t.isAlive()) {
            return new Probe(name, false, "probe thread did not finish");
        }
        if (result[0] < 0) {
            return new Probe(name, false, "unshare(CLONE_FILES): " + Errno.describe(result[1]));
        }
        if (result[3] < 0) {
            return new Probe(name, true, "unshare ok (kcmp unavailable to confirm)");
        }
        return new Probe(name, result[3] != 0, result[3] != 0 ? "private fd table per thread"
                : "kcmp(KCMP_FILES) says the table is still shared");
    }

    private static Probe kcmp(String name) throws SysException {
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        int d = -1;
        try {
            d = Sys.dup(p[0]);
            int pid = Sys.getpid();
            int same = Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[0], d);
            int diff = Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[0], p[1]);
            boolean ok = same == 0 && diff != 0;
            return new Probe(name, ok, "KCMP_FILE same=" + same + " different=" + diff);
        } finally {
            Sys.closeQuietly(d);
            Sys.closeQuietly(p[0]);
            Sys.closeQuietly(p[1]);
        }
    }

    private static Probe pidfd(String name) throws SysException {
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        int pidfd = -1;
        int got = -1;
        try {
            pidfd = Sys.pidfdOpen(Sys.getpid(), 0);
            got = Sys.pidfdGetfd(pidfd, p[0]);
            int pid = Sys.getpid();
            boolean same = Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[0], got) == 0;
            return new Probe(name, same, same ? "pidfd_getfd copies the open file" : "copy is a different file");
        } finally {
            Sys.closeQuietly(got);
            Sys.closeQuietly(pidfd);
            Sys.closeQuietly(p[0]);
            Sys.closeQuietly(p[1]);
        }
    }

    private static Probe ptmx(String name) throws SysException {
        int m = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        try {
            byte[] n = new byte[4];
            Sys.ioctl(m, Linux.TIOCGPTN, n);
            int idx = (n[0] & 0xff) | (n[1] & 0xff) << 8 | (n[2] & 0xff) << 16 | (n[3] & 0xff) << 24;
            return new Probe(name, true, "opened, pty index " + idx);
        } finally {
            Sys.closeQuietly(m);
        }
    }

    private static Probe ptPeer(String name) throws SysException {
        int m = Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0);
        int s = -1;
        try {
            Sys.ioctl(m, Linux.TIOCSPTLCK, new byte[4]);
            s = Sys.ioctl(m, Linux.TIOCGPTPEER, Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC);
            int type = Sys.fstat(s).type();
            return new Probe(name, type == Linux.S_IFCHR, "slave fd " + (type == Linux.S_IFCHR ? "is" : "is not")
                    + " a character device");
        } finally {
            Sys.closeQuietly(s);
            Sys.closeQuietly(m);
        }
    }

    private static Probe sockDiag(String name) throws SysException {
        int s = Sys.socket(Linux.AF_NETLINK, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, Linux.NETLINK_SOCK_DIAG);
        Sys.closeQuietly(s);
        return new Probe(name, true, "NETLINK_SOCK_DIAG socket opened");
    }

    private static Probe openat2(String name) throws SysException {
        int root = Sys.open("/", Linux.O_PATH | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
        int fd = -1;
        try {
            // "/../dev/null" must stay inside the root: it resolves to /dev/null
            fd = Sys.openat2(root, "../../dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0, Linux.RESOLVE_IN_ROOT);
            boolean chr = Sys.fstat(fd).type() == Linux.S_IFCHR;
            return new Probe(name, chr, chr ? "resolves inside the root" : "unexpected file");
        } finally {
            Sys.closeQuietly(fd);
            Sys.closeQuietly(root);
        }
    }

    private static Probe closeRange(String name) throws SysException {
        int nul = Sys.open("/dev/null", Linux.O_RDONLY, 0);
        boolean closed = false;
        try {
            Sys.closeRange(nul, nul, Linux.CLOSE_RANGE_CLOEXEC);
            boolean cloexec = (Sys.fcntl(nul, Linux.F_GETFD, 0) & Linux.FD_CLOEXEC) != 0;
            Sys.closeRange(nul, nul, 0);
            closed = true;
            boolean gone = Native.libc().fcntl(nul, Linux.F_GETFD, 0) < 0;
            return new Probe(name, cloexec && gone, "CLOSE_RANGE_CLOEXEC " + (cloexec ? "works" : "fails")
                    + ", close " + (gone ? "works" : "fails"));
        } finally {
            if (!closed) {
                Sys.closeQuietly(nul);
            }
        }
    }

    private static Probe rlimit(String name) throws SysException {
        Rlimit l = Sys.getrlimit(Linux.RLIMIT_NOFILE);
        return new Probe(name, true, l.toString());
    }
}
