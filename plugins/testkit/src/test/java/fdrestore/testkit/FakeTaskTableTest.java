package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fake table's side of the SPI's general calls: adopted fds and calls by name are recorded and can fail. */
class FakeTaskTableTest {
    @Test
    void recordsAdoptedFdsAndGeneralCalls() throws Exception {
        FakeTaskTable t = new FakeKernel().table(1, 100);
        int jvm = (int) Syscalls.local("eventfd2", 0, 02000000);
        int fd;
        try {
            fd = t.adopt(jvm);
        } finally {
            Syscalls.closeLocal(jvm);
        }
        assertEquals(100, fd);
        assertEquals(List.of("anon_inode:[eventfd]"), t.adopted());
        assertEquals("anon_inode:[eventfd]", t.file(fd).what());
        assertTrue(t.cloexec(fd), "a temporary carries FD_CLOEXEC");
        t.answer("inotify_add_watch", 4);
        assertEquals(4, t.syscall("inotify_add_watch", fd, "/tmp", 2));
        assertEquals(List.of("adopt", "inotify_add_watch"), t.callNames());
        assertEquals("inotify_add_watch(100, \"/tmp\", 2)", t.file(fd).log().get(1));
        assertThrows(IllegalArgumentException.class, () -> t.syscall("memfd_create", "x", 0));
        assertThrows(IllegalArgumentException.class, () -> t.syscall("no_such_call"));
        assertEquals(2, t.callNames().size(), "a refused call is not a call");
    }

    @Test
    void failsAdoptAndGeneralCallsOnRequest() throws Exception {
        FakeTaskTable t = new FakeKernel().table(1, 100);
        t.failOn("adopt", 1, Errno.EMFILE).failOn("signalfd4", 1, Errno.EIO);
        int jvm = (int) Syscalls.local("eventfd2", 0, 02000000);
        try {
            SysException e = assertThrows(SysException.class, () -> t.adopt(jvm));
            assertEquals(Errno.EMFILE, e.errno());
            assertEquals(List.of(), t.temporaries());
            int fd = t.adopt(jvm);
            assertEquals(Errno.EIO, assertThrows(SysException.class,
                    () -> t.syscall("signalfd4", fd, new byte[8], 8, 0)).errno());
        } finally {
            Syscalls.closeLocal(jvm);
        }
        SysException bad = assertThrows(SysException.class, () -> t.adopt(jvm));
        assertEquals(Errno.EBADF, bad.errno(), "the JVM's fd is closed: nothing to adopt");
    }
}
