package fdrestore.plugin.unixsocket;

import static fdrestore.plugin.unixsocket.UnixImageBuilder.ESTABLISHED;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.LISTEN;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.sys.Errno;
import fdrestore.core.engine.Engine;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unix sockets through the engine on the testkit's fake kernel: the errors no injected EIO makes. The
 * open sequences and the rollback of every failing call are in {@link UnixContractTest}.
 */
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
}
