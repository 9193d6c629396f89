package fdrestore.plugin.timerfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FdChecks;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of timerfd timers ({@code FdType.TIMERFD}). The image entry is checked before any syscall:
 * a clock timerfd_create accepts, nanoseconds below one second, known settime flags.
 */
@Extension
public final class TimerfdKind implements FileKind, FileDumper {
    /** Clocks timerfd_create(2) accepts: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM. */
    static final Set<Integer> CLOCKS = Set.of(0, 1, 7, 8, 9);
    /** TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET. */
    static final int SETTIME_FLAGS = 3;
    static final long NSEC_PER_SEC = 1_000_000_000L;

    @Override
    public String name() {
        return "timerfd";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.TIMERFD);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return TimerfdDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return TimerfdDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasTfd()) {
            throw new PlanException("timerfd file " + file.id() + ": files.img has no timerfd entry for it");
        }
        TimerfdEntry e = file.entry().getTfd();
        String what = "timerfd file " + file.id();
        if (!CLOCKS.contains(e.getClockid())) {
            throw new PlanException(what + ": clock " + e.getClockid() + " is not one timerfd_create accepts "
                    + "(0 REALTIME, 1 MONOTONIC, 7 BOOTTIME, 8 REALTIME_ALARM, 9 BOOTTIME_ALARM)");
        }
        if ((e.getSettimeFlags() & ~SETTIME_FLAGS) != 0) {
            throw new PlanException(what + ": unknown settime flags 0x" + Integer.toHexString(e.getSettimeFlags()));
        }
        if (Long.compareUnsigned(e.getVnsec(), NSEC_PER_SEC) >= 0 || Long.compareUnsigned(e.getInsec(), NSEC_PER_SEC) >= 0) {
            throw new PlanException(what + ": nanoseconds out of range (value " + Long.toUnsignedString(e.getVnsec())
                    + ", interval " + Long.toUnsignedString(e.getInsec()) + ")");
        }
        if (e.getVsec() < 0 || e.getIsec() < 0) {
            throw new PlanException(what + ": seconds out of range (value " + Long.toUnsignedString(e.getVsec())
                    + ", interval " + Long.toUnsignedString(e.getIsec()) + ")");
        }
        return new TimerfdRestorer(file.id(), e);
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasTfd()) {
            return null;
        }
        TimerfdEntry t = entry.getTfd();
        return "timerfd clock " + t.getClockid() + " value " + t.getVsec() + "." + String.format("%09d", t.getVnsec())
                + "s interval " + t.getIsec() + "." + String.format("%09d", t.getInsec()) + "s ticks " + t.getTicks()
                + (t.getSettimeFlags() != 0 ? " settime_flags " + t.getSettimeFlags() : "");
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "anon_inode:[timerfd]");
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasTfd() ? new Summary(null, entry.getTfd().getFlags(), null) : null;
    }
}
