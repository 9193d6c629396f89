package fdrestore.plugin.timerfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dump side of timerfd on real timers of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TimerfdDumperTest {
    @Test
    void clockIntervalAndTimeLeftComeFromFdinfo() throws Exception {
        int fd = (int) Sys.libc().syscall(Linux.SYS_TIMERFD_CREATE, 7 /* BOOTTIME */, Linux.O_NONBLOCK | Linux.O_CLOEXEC);
        assertTrue(fd >= 0);
        try {
            Pointer its = Native.allocate(32);
            its.putLong(0, 2);            // interval 2.5 s
            its.putLong(8, 500_000_000L);
            its.putLong(16, 3600);        // first expiry in an hour
            its.putLong(24, 0);
            assertEquals(0, Sys.libc().syscall(Linux.SYS_TIMERFD_SETTIME, fd, 0, its.address(), 0));
            try (LocalDumpContext ctx = LocalDumpContext.of(fd, 3)) {
                TimerfdKind kind = new TimerfdKind();
                assertTrue(kind.dumps(ctx.file()));
                TimerfdEntry t = kind.dump(ctx).getTfd();
                assertEquals(7, t.getClockid());
                assertEquals(Linux.O_RDWR | Linux.O_NONBLOCK, t.getFlags());
                assertEquals(0, t.getTicks());
                assertEquals(0, t.getSettimeFlags());
                assertEquals(2, t.getIsec());
                assertEquals(500_000_000L, t.getInsec());
                assertTrue(t.getVsec() >= 3590 && t.getVsec() < 3600, "time left: " + t.getVsec());
            }
        } finally {
            Sys.closeQuietly(fd);
        }
    }
}
