package fdrestore.plugin.timerfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The file-kind contract for timerfds, plus the plan's refusals. */
class TimerfdContractTest extends FileKindContractTest {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 04000;

    @Override
    protected FileKind kind() {
        return new TimerfdKind();
    }

    @Override
    protected List<Scenario> scenarios() {
        // f_timerfd: armed, armed non-blocking, disarmed; shared by two tasks.
        ImageSetBuilder f = new ImageSetBuilder();
        f.task(1, 0).task(2, 1);
        long mono = f.timerfd(1, O_RDWR, 0, 0, 0, 699304987, 0, 250000000);
        long real = f.timerfd(0, O_RDWR | O_NONBLOCK, 0, 0, 3599, 699265157, 3600, 0);
        long off = f.timerfd(7, O_RDWR, 0, 0, 0, 0, 0, 0);
        for (int pid = 1; pid <= 2; pid++) {
            f.fd(pid, 3, mono).fd(pid, 4, real).fd(pid, 5, off);
        }

        // Unread expirations and an absolute timer.
        ImageSetBuilder t = new ImageSetBuilder();
        t.task(1, 0);
        long ticking = t.timerfd(1, O_RDWR, 0, 3, 0, 500, 1, 0);
        long abs = t.timerfd(0, O_RDWR, 1, 0, 10, 999_999_999, 0, 0);
        long absOff = t.timerfd(0, O_RDWR, 1, 0, 0, 0, 5, 0);
        t.fd(1, 6, ticking).fd(1, 7, abs).fd(1, 8, absOff, true);

        return List.of(
                Scenario.of("f_timerfd: armed, non-blocking, disarmed, shared", f).expect(x -> {
                    assertEquals(List.of("timerfd_create(1, 0)", "timerfd_settime(fd, 0, 0.699304987, 0.250000000)"),
                            noFd(x.callsOf(mono)));
                    assertEquals(List.of("timerfd_create(0, 2048)", "timerfd_settime(fd, 0, 3599.699265157, 3600.0)"),
                            noFd(x.callsOf(real)));
                    assertEquals(List.of("timerfd_create(7, 0)", "timerfd_settime(fd, 0, 0.0, 0.0)"), noFd(x.callsOf(off)),
                            "a disarmed timer stays disarmed");
                    assertEquals(0, x.table(2).calls().stream().filter(c -> c.startsWith("timerfd_")).count());
                }),
                Scenario.of("ticks and absolute timers", t).expect(x -> {
                    List<String> c = x.callsOf(ticking);
                    assertEquals(3, c.size(), c.toString());
                    assertTrue(c.get(2).startsWith("ioctl(") && c.get(2).contains("0x40085400, 8 bytes"), c.toString());
                    List<String> a = x.callsOf(abs);
                    // Probe at the known absolute time (the fake answers 0 left: now = the probe), then arm at now + left.
                    assertTrue(a.get(1).endsWith(", 1, " + TimerfdRestorer.PROBE_SEC + ".0, 0.0)"), a.toString());
                    assertTrue(a.get(2).startsWith("timerfd_gettime("), a.toString());
                    assertTrue(a.get(3).endsWith(", 1, " + (TimerfdRestorer.PROBE_SEC + 10) + ".999999999, 0.0)"), a.toString());
                    List<String> o = x.callsOf(absOff);
                    assertEquals(2, o.size(), "a disarmed absolute timer is not probed: " + o);
                    assertTrue(o.get(1).endsWith(", 1, 0.0, 5.0)"), o.toString());
                }));
    }

    /** The calls with the temporary fd of settime/gettime/ioctl replaced by "fd". */
    private static List<String> noFd(List<String> calls) {
        return calls.stream().map(c -> c.startsWith("timerfd_create(") ? c : c.replaceFirst("\\(\\d+", "(fd")).toList();
    }

    private static FileInfo info(long id, TimerfdEntryBuilder e) {
        return new FileInfo(id, FdType.TIMERFD, e.build(), List.of(new FleInfo(1, 3, false)));
    }

    /** A files.img entry for the plan tests. */
    private record TimerfdEntryBuilder(int clockid, int settime, long vnsec) {
        fdrestore.api.image.proto.FileEntry build() {
            return fdrestore.api.image.proto.FileEntry.newBuilder().setId(1).setType(FdType.TIMERFD.code())
                    .setTfd(fdrestore.api.image.proto.TimerfdEntry.newBuilder().setId(1).setFlags(2)
                            .setFown(fdrestore.api.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0)
                                    .setPidType(0).setPid(0))
                            .setClockid(clockid).setTicks(0).setSettimeFlags(settime).setVsec(0).setVnsec(vnsec)
                            .setIsec(0).setInsec(0))
                    .build();
        }
    }

    private static final PlanContext NO_IMAGES = TestPlanContext.of(null);

    @Test
    void planRefusesWhatTimerfdCannotTake() {
        TimerfdKind k = new TimerfdKind();
        PlanException clock = assertThrows(PlanException.class, () -> k.plan(info(1, new TimerfdEntryBuilder(3, 0, 0)), NO_IMAGES));
        assertTrue(clock.getMessage().contains("timerfd file 1") && clock.getMessage().contains("clock 3"), clock.getMessage());
        PlanException flags = assertThrows(PlanException.class, () -> k.plan(info(1, new TimerfdEntryBuilder(1, 4, 0)), NO_IMAGES));
        assertTrue(flags.getMessage().contains("settime flags 0x4"), flags.getMessage());
        PlanException ns = assertThrows(PlanException.class,
                () -> k.plan(info(1, new TimerfdEntryBuilder(1, 0, 1_000_000_000L)), NO_IMAGES));
        assertTrue(ns.getMessage().contains("nanoseconds"), ns.getMessage());
    }
}
