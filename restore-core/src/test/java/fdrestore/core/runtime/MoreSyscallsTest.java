package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** epoll, timerfd, eventfd, socket names, shutdown and send on a real private table. */
class MoreSyscallsTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    private static List<String> fdinfo(ExecutorTaskTable t, int fd) throws Exception {
        return Files.readAllLines(Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "task",
                Integer.toString(t.tid()), "fdinfo", Integer.toString(fd)));
    }

    @Test
    void epollTimerfdEventfd() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 100)) {
                int[] p = t.pipe(0);
                int ep = t.epollCreate(0);
                assertTrue(ep >= 100, "temporary above the floor: " + ep);
                t.epollCtl(ep, 1, p[0], 0x19, 0x1111L);
                assertTrue(fdinfo(t, ep).stream().anyMatch(l -> l.matches("tfd:\\s+" + p[0] + "\\s+events:\\s+19\\s+data:\\s+1111.*")),
                        fdinfo(t, ep).toString());
                SysException e = assertThrows(SysException.class, () -> t.epollCtl(ep, 1, p[0], 1, 0));
                assertEquals(Errno.EEXIST, e.errno());
                assertTrue(e.getMessage().contains("epoll_ctl(" + ep), e.getMessage());

                int tfd = t.timerfdCreate(1, Linux.O_NONBLOCK);
                t.timerfdSettime(tfd, 0, 50, 0, 2, 500_000_000L);
                long[] now = t.timerfdGettime(tfd);
                assertEquals(2, now[2]);
                assertEquals(500_000_000L, now[3]);
                assertTrue(now[0] <= 50 && now[0] >= 48, "value counts down: " + now[0]);
                assertTrue((t.fcntl(tfd, Linux.F_GETFD, 0) & 1) == 1, "TFD_CLOEXEC");

                int efd = t.eventfd(42, 0);
                byte[] v = new byte[8];
                assertEquals(8, t.read(efd, v, 0, 8));
                assertEquals(42, v[0]);
            }
        });
    }

    @Test
    void socketNamesShutdownAndSend() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 50)) {
                String name = "fdrestore-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
                int srv = t.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0);
                t.bind(srv, Sys.unixAbstractAddress(name));
                t.listen(srv, 4);
                int cli = t.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0);
                assertEquals(0, t.connect(cli, Sys.unixAbstractAddress(name)));
                assertArrayEquals(Sys.unixAbstractAddress(name), t.getsockname(srv));
                assertArrayEquals(Sys.unixAbstractAddress(name), t.getpeername(cli));
                int acc = t.accept(srv, 0);
                assertTrue(acc >= 50, "accepted connection is a temporary: " + acc);
                assertArrayEquals(Sys.unixAbstractAddress(name), t.getsockname(acc), "the accepted socket keeps the name");
                t.fcntl(srv, Linux.F_SETFL, Linux.O_NONBLOCK);
                assertEquals(-1, t.accept(srv, 0), "empty queue answers -1");
                int dn = t.open("/dev/null", Linux.O_RDONLY, 0);
                assertEquals(5, t.send(cli, "hello".getBytes(), 0, 5, new int[] {dn}, 1));
                t.shutdown(cli, 1);
                SysException e = assertThrows(SysException.class, () -> t.send(cli, new byte[1], 0, 1, new int[0], 0));
                assertEquals(Errno.EPIPE, e.errno());
            }
        });
    }

    @Test
    void batchOpensUnderARootRefAndStatsInOneHandOff(@org.junit.jupiter.api.io.TempDir Path dir) {
        assertTimeoutPreemptively(LIMIT, () -> {
            Files.writeString(dir.resolve("f"), "0123456789");
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 40)) {
                fdrestore.api.spi.Batch b = t.batch();
                fdrestore.api.spi.Batch.Ref root = b.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
                fdrestore.api.spi.Batch.Ref f = b.openAt2(root, "f", Linux.O_RDONLY, 0, Linux.RESOLVE_IN_ROOT);
                fdrestore.api.spi.Batch.StatRef st = b.fstat(f);
                b.lseek(f, 4, Linux.SEEK_SET);
                b.close(root);
                b.run();
                assertEquals(10, st.stat().size());
                assertEquals(0100000, st.stat().type());
                byte[] buf = new byte[3];
                assertEquals(3, t.read((int) f.get(), buf, 0, 3));
                assertEquals("456", new String(buf));
                // An escape through .. stays inside the root: the file does not exist there.
                fdrestore.api.spi.Batch b2 = t.batch();
                fdrestore.api.spi.Batch.Ref r2 = b2.open(dir.toString(), Linux.O_PATH | Linux.O_DIRECTORY, 0);
                b2.openAt2(r2, "../../etc/hostname", Linux.O_RDONLY, 0, Linux.RESOLVE_IN_ROOT);
                SysException e = assertThrows(SysException.class, b2::run);
                assertEquals(Errno.ENOENT, e.errno());
                assertTrue(e.getMessage().contains("batch op #1"), e.getMessage());
            }
        });
    }
}
