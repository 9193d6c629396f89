package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The text of a failed call is built from the request only on failure (ExecutorTaskTable.call): each call
 * still names itself, its arguments, the task and the errno as it did when the text was built inline.
 */
class CallTextTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int BAD = 999_999;

    private static void fails(String text, int errno, Executable call) {
        SysException e = assertThrows(SysException.class, call);
        assertTrue(e.getMessage().startsWith(text + " in task 9: "), e.getMessage());
        assertEquals(errno, e.errno(), e.getMessage());
    }

    @Test
    void everyCallNamesItselfOnFailure() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(9, 100)) {
                fails("close(" + BAD + ")", Errno.EBADF, () -> t.close(BAD));
                fails("fcntl(" + BAD + ", F_DUPFD_CLOEXEC, 100)", Errno.EBADF, () -> t.dup(BAD));
                fails("open(\"/nonexistent/x\", O_RDONLY)", Errno.ENOENT,
                        () -> t.open("/nonexistent/x", Linux.O_RDONLY, 0));
                fails("openat(" + BAD + ", \"x\", O_RDONLY)", Errno.EBADF, () -> t.openAt(BAD, "x", Linux.O_RDONLY, 0));
                fails("openat2(AT_FDCWD, \"/nonexistent/x\", {O_RDONLY, mode 00, resolve 0x2})", Errno.ENOENT,
                        () -> t.openAt2(Linux.AT_FDCWD, "/nonexistent/x", Linux.O_RDONLY, 0, 2));
                fails("place(" + BAD + " -> 150, O_CLOEXEC) [dup3+close]", Errno.EBADF, () -> t.place(BAD, 150, true));
                int nul = t.open("/dev/null", Linux.O_RDONLY, 0);
                fails("dup3(" + BAD + ", 151, O_CLOEXEC)", Errno.EBADF, () -> t.placeAll(new int[] {nul, BAD},
                        new int[] {150, 151}, new int[] {TaskTable.KEEP_SOURCE, TaskTable.KEEP_SOURCE
                            | TaskTable.PLACE_CLOEXEC}, 2));
                fails("lseek(" + BAD + ", 5, SEEK_SET)", Errno.EBADF, () -> t.lseek(BAD, 5, Linux.SEEK_SET));
                fails("ioctl(" + BAD + ", FIONREAD, <4 bytes>)", Errno.EBADF,
                        () -> t.ioctl(BAD, Linux.FIONREAD, new byte[4]));
                fails("write(" + BAD + ", <buf>, 3)", Errno.EBADF, () -> t.write(BAD, new byte[3], 0, 3));
                fails("read(" + BAD + ", <buf>, 2)", Errno.EBADF, () -> t.read(BAD, new byte[3], 1, 2));
                fails("fstat(" + BAD + ")", Errno.EBADF, () -> t.fstat(BAD));
                fails("epoll_ctl(" + BAD + ", 1, " + nul + ", {events=0x19, data=0x1111})", Errno.EBADF,
                        () -> t.epollCtl(BAD, 1, nul, 0x19, 0x1111));
                fails("timerfd_settime(" + BAD + ", 0, {value=1.2, interval=3.4})", Errno.EBADF,
                        () -> t.timerfdSettime(BAD, 0, 1, 2, 3, 4));
                fails("timerfd_gettime(" + BAD + ")", Errno.EBADF, () -> t.timerfdGettime(BAD));
                fails("eventfd2(4294967295, -1)", Errno.EINVAL, () -> t.eventfd(-1, -1));
                fails("getsockname(" + BAD + ")", Errno.EBADF, () -> t.getsockname(BAD));
                fails("setsockopt(" + BAD + ", 1, 16, <4 bytes>)", Errno.EBADF,
                        () -> t.setsockopt(BAD, Linux.SOL_SOCKET, Linux.SO_PASSCRED, Sys.intBytes(1)));
                fails("getsockopt(" + BAD + ", 1, 16)", Errno.EBADF,
                        () -> t.getsockopt(BAD, Linux.SOL_SOCKET, Linux.SO_PASSCRED, new byte[4]));
                fails("shutdown(" + BAD + ", 2)", Errno.EBADF, () -> t.shutdown(BAD, 2));
                fails("listen(" + BAD + ", 4)", Errno.EBADF, () -> t.listen(BAD, 4));
                fails("sendmsg(" + BAD + ", 3 bytes, SCM_RIGHTS [" + nul + ", " + nul + "], MSG_DONTWAIT|MSG_NOSIGNAL)",
                        Errno.EBADF, () -> t.send(BAD, new byte[5], 1, 3, new int[] {nul, nul, 7}, 2));
                fails("sendmsg(" + BAD + ", 2 bytes, MSG_DONTWAIT|MSG_NOSIGNAL)", Errno.EBADF,
                        () -> t.send(BAD, new byte[2], 0, 2, new int[0], 0));
                byte[] to = Sys.unixAbstractAddress("fdrestore-calltext");
                fails("sendmsg(" + BAD + ", " + fdrestore.api.sys.Native.sockaddr(to) + ", 1 bytes, SCM_RIGHTS ["
                        + nul + "], MSG_DONTWAIT|MSG_NOSIGNAL)", Errno.EBADF,
                        () -> t.sendFds(BAD, to, new byte[4], 1, new int[] {nul}, 1));
                fails("recvmsg(" + BAD + ", MSG_DONTWAIT|MSG_CMSG_CLOEXEC)", Errno.EBADF,
                        () -> t.recvFds(BAD, new byte[4], new int[2]));
                fails("accept4(" + BAD + ", 0)", Errno.EBADF, () -> t.accept(BAD, 0));
            }
        });
    }
}
