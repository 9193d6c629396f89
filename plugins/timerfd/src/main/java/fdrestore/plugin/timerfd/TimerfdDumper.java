package fdrestore.plugin.timerfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The dump side of timerfd: clock, expirations not yet read ({@code ticks}), settime flags, the time left
 * to the next expiry ({@code it_value}) and the interval, all from the timer's fdinfo.
 */
final class TimerfdDumper {
    /** "(sec, nsec)". */
    private static final Pattern PAIR = Pattern.compile("\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)");

    private TimerfdDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isAnonInode("timerfd");
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        try {
            long[] value = pair(in, "it_value");
            long[] interval = pair(in, "it_interval");
            TimerfdEntry t = TimerfdEntry.newBuilder().setId((int) ctx.id())
                    .setFlags(in.flags() & ~Linux.O_CLOEXEC).setFown(ctx.fown())
                    .setClockid((int) in.require("clockid", 10))
                    .setTicks(in.require("ticks", 10))
                    .setSettimeFlags((int) in.require("settime flags", 8))
                    .setVsec(value[0]).setVnsec(value[1]).setIsec(interval[0]).setInsec(interval[1]).build();
            return FileEntry.newBuilder().setType(FdType.TIMERFD.code()).setId((int) ctx.id()).setTfd(t).build();
        } catch (IllegalArgumentException e) {
            throw new DumpException("timerfd: " + e.getMessage() + " (fdinfo: " + in + ")", e);
        }
    }

    private static long[] pair(Fdinfo in, String key) {
        String v = in.value(key);
        if (v == null) {
            throw new IllegalArgumentException("fdinfo has no " + key + " line");
        }
        Matcher m = PAIR.matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException("fdinfo line " + key + ": " + v + " is not (sec, nsec)");
        }
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }
}
