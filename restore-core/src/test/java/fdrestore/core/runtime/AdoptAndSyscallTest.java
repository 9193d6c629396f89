package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SPI's general calls on a real private table: adopt (pidfd_getfd from the caller) and syscall by name. */
class AdoptAndSyscallTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @Test
    void adoptCopiesTheJvmsFdAboveTheFloorAsTheSameDescription() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Map<Integer, String> before = Sys.fdTargets();
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 100)) {
                int jvm = (int) Syscalls.local("eventfd2", 5, Linux.O_CLOEXEC);
                int copy;
                try {
                    copy = t.adopt(jvm);
                } finally {
                    Syscalls.closeLocal(jvm);
                }
                assertTrue(copy >= 100, "a temporary above the floor: " + copy);
                assertEquals(1, t.fcntl(copy, Linux.F_GETFD, 0) & 1, "FD_CLOEXEC until placed");
                String link = Files.readSymbolicLink(Path.of("/proc", Long.toString(ProcessHandle.current().pid()),
                        "task", Integer.toString(t.tid()), "fd", Integer.toString(copy))).toString();
                assertEquals("anon_inode:[eventfd]", link);
                byte[] v = new byte[8];
                assertEquals(8, t.read(copy, v, 0, 8));
                assertEquals(5, v[0], "the counter written in the JVM: the same open file description");
                t.close(copy);
            }
            assertEquals(Map.of(), FdLeaks.gainedSince(before), "nothing left in the JVM's table");
        });
    }

    @Test
    void adoptOfAClosedFdNamesTheCallAndTheTask() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(7, 100)) {
                int jvm = (int) Syscalls.local("eventfd2", 0, Linux.O_CLOEXEC);
                Syscalls.closeLocal(jvm);
                SysException e = assertThrows(SysException.class, () -> t.adopt(jvm));
                assertEquals(Errno.EBADF, e.errno());
                assertTrue(e.getMessage().contains("adopt(JVM fd " + jvm + ")") && e.getMessage().contains("task 7"),
                        e.getMessage());
                assertEquals(java.util.List.of(), java.util.Arrays.stream(t.listFds()).filter(fd -> fd >= 100).boxed().toList(),
                        "no temporary, no pidfd left behind");
            }
        });
    }

    @Test
    void syscallByNameWithMemoryArguments() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 100)) {
                int s = t.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
                t.setsockopt(s, Linux.SOL_SOCKET, Linux.SO_PASSCRED, Sys.intBytes(1));
                byte[] val = new byte[4];
                byte[] len = Sys.intBytes(4);
                assertEquals(0, t.syscall("getsockopt", s, Linux.SOL_SOCKET, Linux.SO_PASSCRED, val, len));
                assertEquals(1, val[0], "the kernel's answer is copied back into the byte[]");
                SysException e = assertThrows(SysException.class, () -> t.syscall("inotify_rm_watch", s, 1));
                assertEquals(Errno.EINVAL, e.errno());
                assertTrue(e.getMessage().contains("inotify_rm_watch(" + s + ", 1) in task 1"), e.getMessage());
            }
        });
    }

    @Test
    void unknownNamesAndFdMakingCallsAreRefusedBeforeAnySyscall() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ExecutorTaskTable t = TaskRuntime.startTable(1, 100)) {
                IllegalArgumentException u = assertThrows(IllegalArgumentException.class, () -> t.syscall("no_such_call"));
                assertTrue(u.getMessage().contains("not in fdrestore's x86_64 syscall table"), u.getMessage());
                for (String n : new String[] {"dup", "close", "memfd_create", "inotify_init1", "fcntl"}) {
                    IllegalArgumentException r = assertThrows(IllegalArgumentException.class, () -> t.syscall(n, 3));
                    assertTrue(r.getMessage().contains("refused in a task's table"), r.getMessage());
                }
                IllegalArgumentException sfd = assertThrows(IllegalArgumentException.class,
                        () -> t.syscall("signalfd4", -1, new byte[8], 8, 0));
                assertTrue(sfd.getMessage().contains("makes a new fd"), sfd.getMessage());
                assertThrows(IllegalArgumentException.class, () -> t.syscall("read", 1, 2, 3, 4, 5, 6));
                assertThrows(IllegalArgumentException.class, () -> t.syscall("read", 1.5));
                assertEquals(java.util.List.of(), java.util.Arrays.stream(t.listFds()).filter(fd -> fd >= 100).boxed().toList());
            }
        });
    }
}
