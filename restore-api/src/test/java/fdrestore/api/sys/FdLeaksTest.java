package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** FdLeaks on this JVM's real fd table. */
class FdLeaksTest {
    @Test
    void aNewFdAndAReusedNumberAreGainedAClosedOneIsNot() throws SysException {
        int kept = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        int closed = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        int[] p = null;
        try {
            Map<Integer, String> before = Sys.fdTargets();
            assertEquals(Map.of(), FdLeaks.gainedSince(before));
            p = Sys.pipe2(Linux.O_CLOEXEC);
            Sys.dup3(p[0], kept, Linux.O_CLOEXEC); // kept's number now refers to the pipe
            Sys.close(closed);
            closed = -1;
            String pipe = "pipe:[" + Sys.fstat(p[0]).ino() + "]";
            assertEquals(Map.of(p[0], pipe, p[1], pipe, kept, pipe), FdLeaks.gainedSince(before));
        } finally {
            Sys.closeQuietly(kept);
            Sys.closeQuietly(closed);
            if (p != null) {
                Sys.closeQuietly(p[0]);
                Sys.closeQuietly(p[1]);
            }
        }
    }

    @Test
    void theJvmsOwnFilesAreNotLeaks() {
        assertTrue(FdLeaks.jvmOwn("/root/.m2/repository/org/pf4j/pf4j/3.14.0/pf4j-3.14.0.jar"));
        assertTrue(FdLeaks.jvmOwn("/tmp/jffi123.so (deleted)"));
        assertTrue(FdLeaks.jvmOwn("/usr/lib/jvm/java-17-openjdk-amd64/lib/modules"));
        assertTrue(FdLeaks.jvmOwn("/sys/fs/cgroup/memory/x/memory.limit_in_bytes"));
        assertTrue(FdLeaks.jvmOwn("/proc/123/task/456/fd"));
        assertFalse(FdLeaks.jvmOwn("/dev/null"));
        assertFalse(FdLeaks.jvmOwn("pipe:[42]"));
        assertFalse(FdLeaks.jvmOwn("/data/file.jar.bak"));
    }
}
