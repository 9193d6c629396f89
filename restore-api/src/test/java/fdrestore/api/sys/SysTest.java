package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The checked facade on the JVM's own table. */
class SysTest {
    private static final Duration T = Duration.ofSeconds(30);

    @Test
    void errorsNameTheCallArgumentsAndErrno() {
        assertTimeoutPreemptively(T, () -> {
            SysException e = assertThrows(SysException.class,
                    () -> Sys.open("/nonexistent/x", Linux.O_RDONLY | Linux.O_CLOEXEC, 0));
            assertEquals(Errno.ENOENT, e.errno());
            assertEquals("open(\"/nonexistent/x\", O_RDONLY|O_CLOEXEC)", e.call());
            assertTrue(e.getMessage().contains("ENOENT (No such file or directory)"), e.getMessage());
            SysException c = assertThrows(SysException.class, () -> Sys.close(Integer.MAX_VALUE - 3));
            assertEquals(Errno.EBADF, c.errno());
            assertTrue(c.getMessage().startsWith("close(2147483644): EBADF"), c.getMessage());
        });
    }

    @Test
    void openExistingRefusesCreation() {
        assertThrows(IllegalArgumentException.class, () -> Sys.openExisting("/tmp/x", Linux.O_RDWR | Linux.O_CREAT));
        assertThrows(IllegalArgumentException.class, () -> Sys.openExisting("/tmp/x", Linux.O_RDWR | Linux.O_TRUNC));
        assertThrows(IllegalArgumentException.class, () -> Sys.openExisting("/tmp", Linux.O_RDWR | Linux.O_TMPFILE));
    }

    @Test
    void pipeReadWriteFstatAndEagain() {
        assertTimeoutPreemptively(T, () -> {
            int[] p = Sys.pipe2(Linux.O_NONBLOCK | Linux.O_CLOEXEC);
            try {
                assertEquals(-1, Sys.read(p[0], new byte[4], 0, 4), "EAGAIN is a value");
                assertEquals(5, Sys.write(p[1], "hello".getBytes(StandardCharsets.US_ASCII), 0, 5));
                byte[] n = new byte[4];
                Sys.ioctl(p[0], Linux.FIONREAD, n);
                assertEquals(5, n[0]);
                byte[] b = new byte[8];
                assertEquals(5, Sys.read(p[0], b, 1, 7));
                assertEquals("hello", new String(b, 1, 5, StandardCharsets.US_ASCII));
                FileStat s = Sys.fstat(p[0]);
                assertEquals(Linux.S_IFIFO, s.type());
                String link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + p[0])).toString();
                assertEquals("pipe:[" + s.ino() + "]", link);
                assertEquals(Linux.FD_CLOEXEC, Sys.fcntl(p[0], Linux.F_GETFD, 0));
                assertEquals(Linux.O_NONBLOCK, Sys.fcntl(p[0], Linux.F_GETFL, 0) & Linux.O_NONBLOCK);
                // the full-pipe EAGAIN
                byte[] big = new byte[65536];
                int w;
                do {
                    w = Sys.write(p[1], big, 0, big.length);
                } while (w > 0);
                assertEquals(-1, w);
            } finally {
                Sys.close(p[0]);
                Sys.close(p[1]);
            }
        });
    }

    @Test
    void fstatMatchesJavaForAFile() throws Exception {
        Path f = Files.createTempFile("fdrestore-sys", ".bin");
        try {
            Files.write(f, new byte[1234]);
            int fd = Sys.openExisting(f.toString(), Linux.O_RDONLY | Linux.O_CLOEXEC);
            try {
                FileStat s = Sys.fstat(fd);
                assertEquals(1234, s.size());
                assertEquals(Linux.S_IFREG, s.type());
                assertEquals(Files.getAttribute(f, "unix:ino"), s.ino());
                assertEquals(1L, s.nlink());
                assertEquals(11, Sys.lseek(fd, 11, Linux.SEEK_SET));
                assertEquals(1234, Sys.lseek(fd, 0, Linux.SEEK_END));
            } finally {
                Sys.close(fd);
            }
        } finally {
            Files.delete(f);
        }
    }

    @Test
    void kcmpPidfdAndListFds() {
        assertTimeoutPreemptively(T, () -> {
            int[] p = Sys.pipe2(Linux.O_CLOEXEC);
            int d = Sys.dup(p[0]);
            int pidfd = Sys.pidfdOpen(Sys.getpid(), 0);
            int got = Sys.pidfdGetfd(pidfd, p[1]);
            try {
                int pid = Sys.getpid();
                assertEquals(0, Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[0], d));
                assertNotEquals(0, Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[0], p[1]));
                assertEquals(0, Sys.kcmp(pid, pid, Linux.KCMP_FILE, p[1], got));
                assertEquals(0, Sys.kcmp(pid, Sys.gettid(), Linux.KCMP_FILES, 0, 0));
                assertEquals(Linux.FD_CLOEXEC, Sys.fcntl(got, Linux.F_GETFD, 0));
                int[] fds = Sys.listFds();
                for (int fd : new int[] {p[0], p[1], d, pidfd, got}) {
                    assertTrue(Arrays.binarySearch(fds, fd) >= 0, "fd " + fd + " listed");
                }
                java.util.SortedMap<Integer, String> targets = Sys.fdTargets();
                String pipe = "pipe:[" + Sys.fstat(p[0]).ino() + "]";
                assertEquals(pipe, targets.get(p[0]));
                assertEquals(pipe, targets.get(d), "a dup refers to the same pipe");
                assertEquals("anon_inode:[pidfd]", targets.get(pidfd));
                SysException e = assertThrows(SysException.class,
                        () -> Sys.kcmp(pid, pid, Linux.KCMP_FILE, 1 << 30, 1 << 30));
                assertEquals(Errno.EBADF, e.errno());
                assertTrue(e.call().startsWith("kcmp("), e.call());
            } finally {
                for (int fd : new int[] {got, pidfd, d, p[0], p[1]}) {
                    Sys.close(fd);
                }
            }
        });
    }

    @Test
    void socketsSendmsgAndSockopts() {
        assertTimeoutPreemptively(T, () -> {
            int[] sp = Sys.socketpair(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
            try {
                Sys.setsockoptInt(sp[1], Linux.SOL_SOCKET, Linux.SO_PASSCRED, 1);
                assertEquals(1, Sys.getsockoptInt(sp[1], Linux.SOL_SOCKET, Linux.SO_PASSCRED));
                assertEquals(Linux.SOCK_DGRAM, Sys.getsockoptInt(sp[0], Linux.SOL_SOCKET, Linux.SO_TYPE));
                assertEquals(3, Sys.sendmsg(sp[0], null, "abc".getBytes(StandardCharsets.US_ASCII), 3,
                        new int[] {0}, 1, Linux.MSG_DONTWAIT));
                byte[] b = new byte[8];
                assertEquals(3, Sys.read(sp[1], b, 0, 8)); // the passed fd is discarded by read (closed by the kernel)
                String name = "fdrestore-systest-" + ProcessHandle.current().pid();
                int s = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
                int c = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, 0);
                try {
                    Sys.bind(s, Sys.unixAbstractAddress(name));
                    Sys.listen(s, 4);
                    assertTrue(Sys.connect(c, Sys.unixAbstractAddress(name)));
                    SysException e = assertThrows(SysException.class,
                            () -> Sys.bind(c, Sys.unixAbstractAddress(name)));
                    assertTrue(e.call().contains("@" + name), e.call());
                } finally {
                    Sys.close(s);
                    Sys.close(c);
                }
            } finally {
                Sys.close(sp[0]);
                Sys.close(sp[1]);
            }
        });
    }

    @Test
    void rlimitAndUnshareArePresent() throws Exception {
        Rlimit l = Sys.getrlimit(Linux.RLIMIT_NOFILE);
        assertTrue(Long.compareUnsigned(l.soft(), l.hard()) <= 0);
        assertEquals(l, Sys.prlimit(0, Linux.RLIMIT_NOFILE, null));
        assertEquals(Sys.getpid(), (int) ProcessHandle.current().pid());
        assertNotEquals(Sys.getpid(), Sys.gettid());
    }

    @Test
    void spawnFamilyAndWaitpid() {
        // the runtime spawns on executors; here: waitpid/kill on an ordinary child
        assertTimeoutPreemptively(T, () -> {
            Process p = new ProcessBuilder("/bin/sleep", "30").start();
            Sys.kill((int) p.pid(), Linux.SIGTERM);
            p.waitFor();
            assertFalse(p.isAlive());
            SysException e = assertThrows(SysException.class, () -> Sys.waitpid(Integer.MAX_VALUE - 1, 0));
            assertEquals(Errno.ECHILD, e.errno());
        });
    }

    private static Set<Integer> fdSet() throws SysException {
        Set<Integer> out = new java.util.TreeSet<>();
        for (int fd : Sys.listFds()) {
            out.add(fd);
        }
        return out;
    }

    @Test
    void featureProbesAllSucceedHere() {
        assertTimeoutPreemptively(T, () -> {
            Set<Integer> before = fdSet();
            List<Features.Probe> probes = Features.probeAll();
            assertEquals(9, probes.size());
            StringBuilder sb = new StringBuilder();
            for (Features.Probe p : probes) {
                sb.append(p).append('\n');
            }
            for (Features.Probe p : probes) {
                assertTrue(p.ok(), "probe failed:\n" + sb);
            }
            // Other fds of this JVM may close meanwhile (cleaners of earlier tests): only new ones are leaks.
            Set<Integer> added = fdSet();
            added.removeAll(before);
            assertEquals(Set.of(), added, "probes close every fd they open");
        });
    }

    @Test
    void flagFormatting() {
        assertEquals("O_RDWR|O_NONBLOCK|O_CLOEXEC", Linux.openFlags(Linux.O_RDWR | Linux.O_NONBLOCK | Linux.O_CLOEXEC));
        assertEquals("O_WRONLY|O_SYNC", Linux.openFlags(Linux.O_WRONLY | Linux.O_SYNC));
        assertEquals("O_RDWR|O_DIRECTORY|__O_TMPFILE", Linux.openFlags(Linux.O_RDWR | Linux.O_TMPFILE));
        assertEquals("F_DUPFD_CLOEXEC", Linux.fcntlCmd(Linux.F_DUPFD_CLOEXEC));
        assertEquals("TIOCGPTPEER", Linux.ioctlRequest(Linux.TIOCGPTPEER));
        assertArrayEquals(new byte[] {1, 0, 0, 'a', 'b'}, Sys.unixAbstractAddress("ab"));
        assertEquals("{AF_UNIX, @ab}", Native.sockaddr(Sys.unixAbstractAddress("ab")));
    }
}
