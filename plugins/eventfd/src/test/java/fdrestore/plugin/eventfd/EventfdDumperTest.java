package fdrestore.plugin.eventfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dump side of eventfd on real counters of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EventfdDumperTest {
    private static EventfdFileEntry dump(long count, int flags) throws Exception {
        int fd = (int) Sys.libc().syscall(Linux.SYS_EVENTFD2, count, flags | Linux.O_CLOEXEC);
        assertTrue(fd >= 0);
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 2)) {
            EventfdKind kind = new EventfdKind();
            assertTrue(kind.dumps(ctx.file()));
            return kind.dump(ctx).getEfd();
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    @Test
    void counterAndFlags() throws Exception {
        EventfdFileEntry e = dump(0x1234, Linux.O_NONBLOCK);
        assertEquals(0x1234, e.getCounter(), "eventfd-count is hexadecimal in fdinfo");
        assertEquals(Linux.O_RDWR | Linux.O_NONBLOCK, e.getFlags());
        assertEquals(2, e.getId());
    }

    @Test
    void aSemaphoreIsRecordedAsTheRestoreSideReadsIt() throws Exception {
        EventfdFileEntry e = dump(3, EventfdKind.EFD_SEMAPHORE);
        assertEquals(EventfdKind.EFD_SEMAPHORE, e.getFlags() & EventfdKind.EFD_SEMAPHORE);
        assertEquals(3, e.getCounter());
    }
}
