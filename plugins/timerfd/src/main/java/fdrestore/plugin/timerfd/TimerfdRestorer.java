package fdrestore.plugin.timerfd;

import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.io.IOException;

/**
 * Restores one timer in a single call: timerfd_create with the image's clock and TFD_NONBLOCK, then
 * timerfd_settime with the time that was left at dump time and the exact interval, then the expirations
 * not yet read (TFD_IOC_SET_TICKS). On any failure the new fd is closed before the error is thrown.
 *
 * <ul>
 * <li>A disarmed timer (value 0) stays disarmed; its interval is still set, as the kernel keeps it.</li>
 * <li>With TFD_TIMER_ABSTIME the image still holds the time left (criu dumps fdinfo's it_value, which is
 * relative), so, as criu's restorer does, the current time of the timer's clock is added. criu adds only
 * the seconds; here the whole time is added. The current time is read from the kernel on the new timer
 * itself: armed at a known absolute time {@link #PROBE_SEC}, timerfd_gettime answers how far that is.</li>
 * <li>TFD_IOC_SET_TICKS exists only with CONFIG_CHECKPOINT_RESTORE. Without it the kernel answers ENOTTY:
 * the timer is restored without its unread expirations (a read returns fewer ticks), and nothing fails.</li>
 * </ul>
 */
final class TimerfdRestorer implements FileRestorer {
    static final int TFD_NONBLOCK = 04000;
    static final int TFD_TIMER_ABSTIME = 1;
    static final long TFD_IOC_SET_TICKS = 0x40085400L;
    /** An absolute time (year ~2223) past every clock's now and below the kernel's ktime limit (~292 years). */
    static final long PROBE_SEC = 8_000_000_000L;

    private final long id;
    private final TimerfdEntry e;

    TimerfdRestorer(long id, TimerfdEntry e) {
        this.id = id;
        this.e = e;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int fd;
        try {
            fd = t.timerfdCreate(e.getClockid(), e.getFlags() & TFD_NONBLOCK);
        } catch (SysException x) {
            throw new IOException(this + ": " + x.getMessage(), x);
        }
        try {
            arm(t, fd);
            return OpenResult.done(fd);
        } catch (SysException x) {
            IOException failure = new IOException(this + ": " + x.getMessage(), x);
            closeAfter(t, fd, failure);
            throw failure;
        } catch (RuntimeException | Error x) {
            closeAfter(t, fd, x);
            throw x;
        }
    }

    private static void closeAfter(TaskTable t, int fd, Throwable failure) {
        try {
            t.close(fd);
        } catch (SysException c) {
            failure.addSuppressed(c);
        }
    }

    private void arm(TaskTable t, int fd) throws SysException {
        long vsec = e.getVsec();
        long vnsec = e.getVnsec();
        boolean armed = vsec != 0 || vnsec != 0;
        int flags = e.getSettimeFlags();
        if (armed && (flags & TFD_TIMER_ABSTIME) != 0) {
            t.timerfdSettime(fd, TFD_TIMER_ABSTIME, PROBE_SEC, 0, 0, 0);
            long[] left = t.timerfdGettime(fd);
            long nowNs = PROBE_SEC * TimerfdKind.NSEC_PER_SEC - (left[0] * TimerfdKind.NSEC_PER_SEC + left[1]);
            long atNs = nowNs + vnsec;
            vsec += atNs / TimerfdKind.NSEC_PER_SEC;
            vnsec = atNs % TimerfdKind.NSEC_PER_SEC;
        }
        t.timerfdSettime(fd, flags, vsec, vnsec, e.getIsec(), e.getInsec());
        long ticks = e.getTicks();
        if (ticks != 0) {
            byte[] buf = new byte[8];
            for (int i = 0; i < 8; i++) {
                buf[i] = (byte) (ticks >>> (8 * i));
            }
            try {
                t.ioctl(fd, TFD_IOC_SET_TICKS, buf);
            } catch (SysException x) {
                if (x.errno() != Errno.ENOTTY) {
                    throw x;
                }
                // No CONFIG_CHECKPOINT_RESTORE: the unread expirations cannot be restored (see the class doc).
            }
        }
    }

    @Override
    public String toString() {
        return "timerfd file " + id + " (clock " + e.getClockid() + ")";
    }
}
