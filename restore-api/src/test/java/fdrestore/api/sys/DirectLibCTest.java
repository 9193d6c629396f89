package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-written binding: the width and sign of arguments and results, errno per thread, and the
 * native memory {@link Native#allocate} gives. Each test would fail with a wrong jffi type or call.
 */
class DirectLibCTest {
    private static final Duration T = Duration.ofSeconds(30);
    private final LibC c = Native.libc();

    @Test
    void aNegativeIntArgumentStaysNegative() {
        assertTimeoutPreemptively(T, () -> {
            Pointer path = Native.allocateString("/dev/null");
            int fd = c.openat(Linux.AT_FDCWD, path.address(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            assertTrue(fd >= 0, "openat(AT_FDCWD, /dev/null): " + fd + ", errno " + Native.errno());
            assertEquals(0, c.close(fd));
        });
    }

    @Test
    void aFailureReturnsMinusOneAndSavesErrnoForItsOwnThread() throws Exception {
        Pointer missing = Native.allocateString("/nonexistent/fdrestore-direct-libc");
        assertEquals(-1, c.open(missing.address(), Linux.O_RDONLY, 0));
        assertEquals(Errno.ENOENT, Native.errno());
        AtomicInteger other = new AtomicInteger();
        Thread t = new Thread(() -> {
            c.close(-1);
            other.set(Native.errno());
        });
        t.start();
        t.join(T.toMillis());
        assertEquals(Errno.EBADF, other.get(), "the other thread's own errno");
        assertEquals(Errno.ENOENT, Native.errno(), "this thread's errno, untouched by the other thread's call");
    }

    @Test
    void aLongResultKeepsItsHighBits(@TempDir Path dir) throws Exception {
        Path f = Files.createFile(dir.resolve("sparse"));
        Pointer path = Native.allocateString(f.toString());
        int fd = c.open(path.address(), Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        assertTrue(fd >= 0);
        try {
            long far = 5L << 32 | 7; // past 2^32, with low bits: lseek on a read-only fd writes nothing
            assertEquals(far, c.lseek(fd, far, Linux.SEEK_SET));
            assertEquals(-1L, c.lseek(fd, -1L, Linux.SEEK_SET), "a negative 64-bit offset is refused");
            assertEquals(Errno.EINVAL, Native.errno());
        } finally {
            c.close(fd);
        }
    }

    @Test
    void readWriteAndSyscallMoveWhatTheySay() {
        assertTimeoutPreemptively(T, () -> {
            Pointer fds = Native.allocate(8);
            assertEquals(0, c.pipe2(fds.address(), Linux.O_CLOEXEC));
            int r = fds.getInt(0);
            int w = fds.getInt(4);
            try {
                Pointer buf = Native.allocate(3);
                buf.put(0, new byte[] {1, 2, 3}, 0, 3);
                assertEquals(3L, c.write(w, buf.address(), 3));
                Pointer in = Native.allocate(8);
                assertEquals(3L, c.read(r, in.address(), 8));
                assertEquals(0x030201, in.getInt(0));
                assertEquals(ProcessHandle.current().pid(), c.getpid());
                assertEquals(c.getpid(), (int) c.syscall(39)); // getpid(2) through syscall(2)
            } finally {
                c.close(r);
                c.close(w);
            }
        });
    }

    @Test
    void allocatedMemoryIsZeroedAndBounded() {
        Pointer p = Native.allocate(16);
        assertEquals(16, p.size());
        assertEquals(0L, p.getLong(0));
        assertEquals(0L, p.getLong(8));
        assertTrue(p.address() != 0L);
        assertThrows(IndexOutOfBoundsException.class, () -> p.getLong(12));
    }
}
