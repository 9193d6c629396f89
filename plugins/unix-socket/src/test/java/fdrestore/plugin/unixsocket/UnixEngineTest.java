package fdrestore.plugin.unixsocket;

import static fdrestore.plugin.unixsocket.UnixImageBuilder.ESTABLISHED;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.LISTEN;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.SEQPACKET;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.engine.Engine;
import fdrestore.core.engine.RestoreException;
import fdrestore.core.image.ImageSet;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.PlanContext;
import fdrestore.core.sys.Errno;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unix sockets through the engine on the testkit's fake kernel: the calls made, and what failures leave. */
class UnixEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FLOOR = 1000;

    @TempDir
    Path tmp;

    private final FakeKernel kernel = new FakeKernel();
    private final UnixSocketKind kind = new UnixSocketKind();

    private Engine engine(UnixImageBuilder b, int... pids) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("img")));
        Engine.Builder eb = Engine.builder(kernel.transport());
        for (int pid : pids) {
            eb.table(kernel.table(pid, FLOOR));
        }
        PlanContext pc = UnixImageBuilder.planContext(images, tmp);
        for (FileInfo f : UnixImageBuilder.files(images)) {
            eb.file(f, kind.name(), kind.plan(f, pc));
        }
        return eb.build();
    }

    private long count(int pid, String call) {
        return kernel.table(pid).calls().stream().filter(c -> c.startsWith(call + "(")).count();
    }

    @Test
    void socketpairAcrossTwoTasksIsMadeOnceAndHandedOver() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(STREAM, ESTABLISHED);
        int c = b.sock(STREAM, ESTABLISHED);
        b.connect(a, c).fd(10, 3, a).fd(11, 4, c).packet(a, "to a").packet(c, "to c");
        Engine e = engine(b, 10, 11);
        assertTimeoutPreemptively(LIMIT, e::run);
        assertEquals(1, count(10, "socketpair"));
        assertEquals(0, count(11, "socketpair") + count(11, "socket"));
        assertEquals(1, count(10, "send"), "task 10 re-sends c's queue");
        assertEquals(1, count(11, "send"), "task 11 re-sends a's queue");
        assertEquals(List.of(3), kernel.table(10).openFds());
        assertEquals(List.of(4), kernel.table(11).openFds());
        assertEquals(Map.of(), e.ownedTemporaries());
    }

    @Test
    void listenerMakesItsAcceptedConnectionBeforeItListensForOthers() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int l = b.sock(SEQPACKET, LISTEN);
        int srv = b.sock(SEQPACKET, ESTABLISHED);
        int cli = b.sock(SEQPACKET, ESTABLISHED);
        int pending = b.sock(SEQPACKET, ESTABLISHED);
        b.abstractName(l, "fake").abstractName(srv, "fake").connect(srv, cli).peer(pending, l);
        b.fd(10, 3, l).fd(10, 4, srv).fd(11, 3, cli).fd(11, 4, pending);
        Engine e = engine(b, 10, 11);
        assertTimeoutPreemptively(LIMIT, e::run);
        List<String> calls = kernel.table(10).callNames();
        assertTrue(calls.indexOf("accept") > calls.indexOf("listen"), calls.toString());
        assertEquals(1, count(10, "accept4"));
        assertEquals(1, count(11, "connect"), "the unaccepted client connects itself");
        assertEquals(List.of(3, 4), kernel.table(10).openFds());
        assertEquals(List.of(3, 4), kernel.table(11).openFds());
    }

    @Test
    void addressInUseFailsNamingTheSocketAndLeavesNoTemporaries() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int l = b.sock(STREAM, LISTEN);
        int srv = b.sock(STREAM, ESTABLISHED);
        int cli = b.sock(STREAM, ESTABLISHED);
        b.abstractName(l, "busy").abstractName(srv, "busy").connect(srv, cli);
        b.fd(10, 3, l).fd(10, 4, srv).fd(10, 5, cli);
        Engine e = engine(b, 10);
        FakeTaskTable t = kernel.table(10);
        t.failOn("bind", 1, Errno.EADDRINUSE);
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("ino " + UnixImageBuilder.ino(l)) && ex.getMessage().contains("@busy")
                && ex.getMessage().contains("already in use"), ex.getMessage());
        assertEquals(List.of(), t.temporaries());
    }

    @Test
    void failedAcceptClosesTheClientItMade() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int l = b.sock(STREAM, LISTEN);
        int srv = b.sock(STREAM, ESTABLISHED);
        int cli = b.sock(STREAM, ESTABLISHED);
        b.abstractName(l, "acc").abstractName(srv, "acc").connect(srv, cli);
        b.fd(10, 3, l).fd(10, 4, srv).fd(10, 5, cli);
        Engine e = engine(b, 10);
        FakeTaskTable t = kernel.table(10);
        t.failOn("accept", 1, Errno.EMFILE);
        RestoreException ex = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(ex.getMessage().contains("ino " + UnixImageBuilder.ino(l)), ex.getMessage());
        assertEquals(List.of(), t.temporaries());
        assertEquals(List.of(), t.openFds());
    }
}
