package fdrestore.plugin.eventpoll;

import static fdrestore.testkit.ImageSetBuilder.target;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.Stage;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning epolls from images (targets, master, numbers) and the order of adds against a slow target. */
class EventpollPlanTest {
    @TempDir
    Path tmp;

    static PlanContext ctx(ImageSet images) {
        return TestPlanContext.of(images);
    }

    static FileInfo info(ImageSet images, long id) {
        List<FleInfo> fles = new ArrayList<>();
        for (ImageSet.FdRef r : images.sharers(id)) {
            fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
        }
        fles.sort(null);
        return new FileInfo(id, images.sharers(id).get(0).fd().type(), images.file(id).orElseThrow(), fles);
    }

    @Test
    void vEpollSampleTargetsTheFifoAndTheEventfdInTheRoot() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("v_epoll"));
        EpollPlan plan = EpollPlan.of(info(images, 10), images);
        assertEquals(new FleInfo(7580, 9, true), plan.master);
        assertEquals(2, plan.targets.size());
        EpollPlan.Target eventfd = plan.targets.get(0);
        EpollPlan.Target fifo = plan.targets.get(1);
        assertEquals(9, eventfd.fileId());
        assertEquals(5, eventfd.fd());
        assertEquals(0x1d, eventfd.events());
        assertEquals(0xe7e0, eventfd.data());
        assertEquals(5, fifo.fileId());
        assertEquals(3, fifo.fd());
        assertEquals(0xf1f0, fifo.data());
        FileRestorer r = new EventpollKind().plan(info(images, 10), ctx(images));
        assertEquals(List.of(
                Dependency.beforeDone(9, Stage.RESTORED, "epoll file 10 watches it at fd 5").inSameTask(),
                Dependency.beforeDone(5, Stage.RESTORED, "epoll file 10 watches it at fd 3").inSameTask()),
                r.dependencies());
    }

    @Test
    void aTargetThatIsNotOpenInTheDumpingTaskIsAPlanErrorNamingIt() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0).task(2, 1);
        long f = b.regularFile("/x", 0, 0);
        long ep = b.eventpoll(2, target(6, 1, 0x42));
        b.fd(1, 3, f).fd(1, 9, ep).fd(2, 6, f).fd(2, 9, ep);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("i")));
        PlanException e = assertThrows(PlanException.class, () -> new EventpollKind().plan(info(images, ep), ctx(images)));
        assertTrue(e.getMessage().contains("epoll file " + ep) && e.getMessage().contains("target fd 6")
                && e.getMessage().contains("task 1, which dumped the epoll"), e.getMessage());
    }

    @Test
    void anEpollWatchingItselfIsRefused() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long ep = b.eventpoll(2, target(9, 1, 0));
        b.fd(1, 9, ep);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("i")));
        PlanException e = assertThrows(PlanException.class, () -> new EventpollKind().plan(info(images, ep), ctx(images)));
        assertTrue(e.getMessage().contains("the epoll itself"), e.getMessage());
    }

    @Test
    void targetsAreAddedOnlyOnceTheyAreRestored() throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long f = b.regularFile("/slow", 0, 0);
        long ep = b.eventpoll(2, target(3, 1, 0x5));
        b.fd(1, 3, f).fd(1, 9, ep);
        ImageSet images = ImageSet.open(b.write(tmp.resolve("i")));
        // The target reports its fd at once (OPEN) but finishes (lseek, then Done) only on its fourth call.
        FileRestorer slow = new FileRestorer() {
            int calls;

            @Override
            public OpenResult open(OpenContext c) throws Exception {
                calls++;
                if (calls == 1) {
                    return OpenResult.again(c.table().open("/slow", 0, 0));
                }
                if (calls < 4) {
                    c.signalled("poke" + calls); // registers this task as a waiter ...
                    c.signal("poke" + calls); // ... and wakes it
                    return OpenResult.again();
                }
                c.table().lseek(c.fd().getAsInt(), 0, 0);
                return OpenResult.done();
            }
        };
        FakeKernel k = new FakeKernel();
        Engine e = Engine.builder(k.transport()).table(k.table(1, 100))
                .file(info(images, f), "slow", slow)
                .file(info(images, ep), "eventpoll", new EventpollKind().plan(info(images, ep), ctx(images)))
                .build();
        assertTimeoutPreemptively(Duration.ofSeconds(20), e::run);
        List<String> calls = k.table(1).calls();
        int seek = calls.indexOf("lseek(3, 0, 0)");
        int add = calls.indexOf("epoll_ctl(9, 1, 3, 0x1, 0x5)");
        assertTrue(seek >= 0 && add > seek, "epoll_ctl after the target is RESTORED: " + calls);
        assertEquals(Stage.RESTORED, e.stageOf(1, 9));
        assertEquals(FdType.EVENTPOLL, info(images, ep).type());
    }
}
