package fdrestore.plugin.signalfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Sys;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.testkit.ImageSetBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Signalfds restored by the engine into a real private fd table, checked through the kernel's fdinfo. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class RealSignalfdTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private TaskRuntime runtime;
    private ExecutorTaskTable table;
    private Transport transport;

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(1, 100);
        transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    private List<String> fdinfo(int fd) throws Exception {
        return Files.readAllLines(Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "task",
                Integer.toString(table.tid()), "fdinfo", Integer.toString(fd)));
    }

    @Test
    void masksAndFlagsReachTheTasksTable() {
        assertTimeoutPreemptively(LIMIT, () -> {
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long usr1 = SignalfdContractTest.signalfd(b, 02 | 04000, 1L << 9);
            long many = SignalfdContractTest.signalfd(b, 02, 0x8000_0000_0000_0001L | 1L << 33);
            b.fd(1, 4, usr1).fd(1, 9, many, true);
            ImageSet images = ImageSet.open(b.write(tmp.resolve("images")));
            PlanContext ctx = new PlanContext() {
                public ImageSet images() {
                    return images;
                }

                public Path root() {
                    return Path.of("/");
                }

                public String option(String name) {
                    return null;
                }
            };
            Map<Integer, String> before = Sys.fdTargets();
            Engine.Builder eb = Engine.builder(transport).table(table);
            for (long[] f : new long[][] {{usr1, 4, 0}, {many, 9, 1}}) {
                FileInfo fi = new FileInfo(f[0], FdType.SIGNALFD, images.file(f[0]).orElseThrow(),
                        List.of(new FleInfo(1, (int) f[1], f[2] == 1)));
                eb.file(fi, "signalfd", new SignalfdKind().plan(fi, ctx));
            }
            eb.build().run();
            List<String> a = fdinfo(4);
            assertTrue(a.contains("sigmask:\t0000000000000200"), a.toString());
            assertTrue(a.contains("flags:\t04002"), a.toString());
            List<String> c = fdinfo(9);
            assertTrue(c.contains("sigmask:\t8000000200000001"), c.toString());
            assertTrue(c.contains("flags:\t02000002"), "O_RDWR with FD_CLOEXEC from the image: " + c);
            assertEquals(List.of(), Arrays.stream(table.listFds()).filter(fd -> fd >= 100).boxed().toList(),
                    "no temporary left");
            assertEquals(Map.of(), FdLeaks.gainedSince(before), "the JVM's signalfds are closed");
        });
    }
}
