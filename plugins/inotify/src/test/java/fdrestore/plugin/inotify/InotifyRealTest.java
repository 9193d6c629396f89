package fdrestore.plugin.inotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Sys;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
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

/** Inotify instances restored into a real private fd table, checked through the kernel's fdinfo. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "private fd tables need Linux unshare(CLONE_FILES)")
class InotifyRealTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private TaskRuntime runtime;
    private ExecutorTaskTable table;

    @BeforeEach
    void start() throws Exception {
        runtime = new TaskRuntime();
        table = runtime.start(1, 100);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    private Engine engine(ImageSetBuilder b, long id, Path root) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        PlanContext ctx = TestPlanContext.of(images).root(root);
        Transport transport = mock(Transport.class);
        when(transport.receive(any(), any(), any())).thenReturn(-1);
        FileInfo fi = new FileInfo(id, FdType.INOTIFY, images.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        return Engine.builder(transport).table(table).file(fi, "inotify", new InotifyKind().plan(fi, ctx)).build();
    }

    @Test
    void watchesKeepTheirWdAndMask() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = tmp.resolve("root");
            Files.createDirectories(root.resolve("d"));
            Files.writeString(root.resolve("d/f"), "x");
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long id = InotifyContractTest.inotify(b, 0, InotifyContractTest.watch(5, 0x2, "/d/f"),
                    InotifyContractTest.watch(2, 0x100, "/d"));
            b.fd(1, 4, id);
            Engine engine = engine(b, id, root);   // first: Mockito's agent may open a socket of its own
            Map<Integer, String> before = Sys.fdTargets();
            engine.run();
            List<String> info = Files.readAllLines(Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "task",
                    Integer.toString(table.tid()), "fdinfo", "4"));
            assertTrue(info.stream().anyMatch(l -> l.startsWith("inotify wd:5 ") && l.contains(" mask:2 ")), info.toString());
            assertTrue(info.stream().anyMatch(l -> l.startsWith("inotify wd:2 ") && l.contains(" mask:100 ")), info.toString());
            assertEquals(2, info.stream().filter(l -> l.startsWith("inotify wd:")).count(), info.toString());
            assertEquals(List.of(), Arrays.stream(table.listFds()).filter(fd -> fd >= 100).boxed().toList());
            assertEquals(Map.of(), FdLeaks.gainedSince(before), "the JVM's inotify fd is closed");
        });
    }

    @Test
    void aWatchWhosePathIsGoneFailsNamingItAndLeavesNothing() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = tmp.resolve("root2");
            Files.createDirectories(root);
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long id = InotifyContractTest.inotify(b, 0, InotifyContractTest.watch(1, 0x2, "/gone"));
            b.fd(1, 4, id);
            Engine engine = engine(b, id, root);
            Map<Integer, String> before = Sys.fdTargets();
            RestoreException e = assertThrows(RestoreException.class, engine::run);
            assertTrue(e.getMessage().contains("task 1 fd 4") && e.getMessage().contains("watch wd 1 mask 0x2 on /gone")
                    && e.getMessage().contains("--plugin-option inotify.drop-missing=true drops it"), e.getMessage());
            assertEquals(List.of(), Arrays.stream(table.listFds()).filter(fd -> fd >= 100).boxed().toList());
            assertEquals(Map.of(), FdLeaks.gainedSince(before), "no inotify fd left in the JVM");
        });
    }
}
