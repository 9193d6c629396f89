package fdrestore.plugin.eventpoll;

import static fdrestore.testkit.ImageSetBuilder.target;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import java.util.List;

/** The file-kind contract for epolls, with the shapes criu's tests and the samples use. */
class EventpollContractTest extends FileKindContractTest {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int EPOLLIN = 0x1;
    static final int EPOLLOUT = 0x4;
    static final int EPOLLERR_HUP = 0x18;

    @Override
    protected FileKind kind() {
        return new EventpollKind();
    }

    private static long count(List<String> calls, String prefix) {
        return calls.stream().filter(c -> c.startsWith(prefix)).count();
    }

    @Override
    protected List<Scenario> scenarios() {
        // 1. One task: an epoll over a pipe's read end and a file, as v_epoll's root has it.
        ImageSetBuilder one = new ImageSetBuilder();
        one.task(1, 0);
        long[] p = one.pipe(null);
        long f = one.regularFile("/data/x", O_RDONLY, 0);
        long ep = one.eventpoll(O_RDWR, target(3, EPOLLIN | EPOLLERR_HUP, 0xf1f0), target(5, 0x1d, 0xe7e0));
        one.fd(1, 3, p[0]).fd(1, 4, p[1]).fd(1, 5, f).fd(1, 9, ep, true);

        // 2. Nested: epoll 11 watches epoll 10, which watches the pipe.
        ImageSetBuilder nested = new ImageSetBuilder();
        nested.task(1, 0);
        long[] q = nested.pipe(null);
        long inner = nested.eventpoll(O_RDWR, target(3, EPOLLIN, 7));
        long outer = nested.eventpoll(O_RDWR, target(10, EPOLLIN, 8));
        nested.fd(1, 3, q[0]).fd(1, 10, inner).fd(1, 11, outer);

        // 3. Shared with a child that holds no target (v_epoll's child1): only the root adds, once.
        ImageSetBuilder shared = new ImageSetBuilder();
        shared.task(1, 0).task(2, 1);
        long[] r = shared.pipe(null);
        long sep = shared.eventpoll(O_RDWR, target(3, EPOLLIN, 1), target(4, EPOLLOUT, 2));
        shared.fd(1, 3, r[0]).fd(1, 4, r[1]).fd(1, 9, sep, true).fd(2, 9, sep, true);

        // 4. criu #1366: the lowest pid (the default master) holds the epoll but none of its targets.
        ImageSetBuilder away = new ImageSetBuilder();
        away.task(100, 0).task(50, 100);
        long[] s = away.pipe(null);
        long aep = away.eventpoll(O_RDWR, target(3, EPOLLIN, 0x33));
        away.fd(100, 3, s[0]).fd(100, 9, aep).fd(50, 9, aep);

        // 5. The target is a pipe end the epoll's task receives from another task.
        ImageSetBuilder received = new ImageSetBuilder();
        received.task(1, 0).task(2, 1);
        long[] t = received.pipe(null);
        long rep = received.eventpoll(O_RDWR, target(7, EPOLLIN, 0x77));
        received.fd(1, 3, t[0]).fd(1, 4, t[1]).fd(2, 7, t[0]).fd(2, 9, rep);

        // 6. Legacy eventpoll-tfd.img, target at another number in the master than in the dumper.
        ImageSetBuilder legacy = new ImageSetBuilder();
        legacy.task(1, 0);
        long lf = legacy.regularFile("/data/y", O_RDONLY, 0);
        long lep = legacy.eventpollLegacy(O_RDWR | 04000, target(6, EPOLLIN, 0x66));
        legacy.fd(1, 6, lf).fd(1, 8, lep);

        return List.of(
                Scenario.of("epoll over a pipe and a file", one).expect(x -> {
                    List<String> calls = x.callsOf(ep);
                    assertEquals("epoll_create1(0)", calls.get(0));
                    assertTrue(calls.contains("epoll_ctl(9, 1, 3, 0x19, 0xf1f0)"), calls.toString());
                    assertTrue(calls.contains("epoll_ctl(9, 1, 5, 0x1d, 0xe7e0)"), calls.toString());
                    assertEquals(3, calls.size(), calls.toString());
                }),
                Scenario.of("nested epoll", nested).expect(x -> {
                    assertTrue(x.callsOf(inner).contains("epoll_ctl(10, 1, 3, 0x1, 0x7)"), x.callsOf(inner).toString());
                    assertTrue(x.callsOf(outer).contains("epoll_ctl(11, 1, 10, 0x1, 0x8)"), x.callsOf(outer).toString());
                }),
                Scenario.of("shared epoll, child without targets", shared).expect(x -> {
                    assertEquals(new FleInfo(1, 9, true), x.master(sep));
                    assertEquals(2, count(x.table(1).calls(), "epoll_ctl("));
                    assertEquals(0, count(x.table(2).calls(), "epoll_ctl("));
                    assertEquals(0, count(x.table(2).calls(), "epoll_create1("));
                }),
                Scenario.of("master away from the lowest pid (criu #1366)", away).expect(x -> {
                    assertEquals(new FleInfo(100, 9, false), x.master(aep));
                    assertEquals(List.of("epoll_create1(0)", "epoll_ctl(9, 1, 3, 0x1, 0x33)"), x.callsOf(aep));
                    assertEquals(0, count(x.table(50).calls(), "epoll_"));
                }),
                Scenario.of("target received from another task", received).expect(x -> {
                    assertEquals(new FleInfo(2, 9, false), x.master(rep));
                    assertEquals(List.of("epoll_create1(0)", "epoll_ctl(9, 1, 7, 0x1, 0x77)"), x.callsOf(rep));
                }),
                Scenario.of("legacy eventpoll-tfd.img, non-blocking", legacy).expect(x -> {
                    List<String> calls = x.callsOf(lep);
                    assertEquals(3, calls.size(), calls.toString());
                    assertTrue(calls.get(1).startsWith("fcntl(") && calls.get(1).endsWith(", 4, 2048)"), calls.toString());
                    assertEquals("epoll_ctl(8, 1, 6, 0x1, 0x66)", calls.get(2));
                }));
    }
}
