package fdrestore.plugin.inetsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import fdrestore.testkit.Samples;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The plugin driven by the engine over the testkit's fake kernel, for the errors no injected EIO makes.
 * The call sequences (shared listeners, shared ports, repair mode) and the rollback of every failing call
 * are in {@link InetContractTest}.
 */
class InetEngineTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final int FLOOR = 1000;

    private final FakeKernel kernel = new FakeKernel();

    private Engine engine(ImageSet images, int... pids) throws Exception {
        Engine.Builder b = Engine.builder(kernel.transport());
        for (int pid : pids) {
            b.table(kernel.table(pid, FLOOR));
        }
        PlanContext pc = Fixtures.planContext(images);
        InetKind kind = new InetKind();
        for (FileInfo f : Fixtures.inetFiles(images)) {
            b.file(f, kind.name(), kind.plan(f, pc));
        }
        return b.build();
    }

    @Test
    void aBindInUseNamesFamilyAddressAndPort() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("h_tcp"));
        Engine e = engine(images, 19273, 19275);
        kernel.table(19273).failOn("bind", 2, Errno.EADDRINUSE);
        RestoreException x = assertThrows(RestoreException.class, () -> assertTimeoutPreemptively(LIMIT, e::run));
        assertTrue(x.getMessage().contains("tcp6 socket [::1]:40124 (listen, file 6): cannot bind [::1]:40124:"
                + " the address is already in use (EADDRINUSE)"), x.getMessage());
        assertNotNull(x.getCause());
        assertEquals(List.of(), kernel.table(19273).temporaries());
    }
}
