package fdrestore.plugin.inotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.RestoreException;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    private static ImageSet images(ImageSetBuilder b, Path dir) throws Exception {
        return ImageSet.open(b.write(dir));
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
            ImageSet images = images(b, tmp.resolve("images"));
            // The harness fails on a temporary left in the table, and its close on an inotify fd left in the JVM.
            try (RealKernel k = RealKernel.open()) {
                k.restore(TestPlanContext.of(images).root(root), new InotifyKind());
                List<String> info = List.of(k.fdinfo(1, 4).split("\n"));
                assertTrue(info.stream().anyMatch(l -> l.startsWith("inotify wd:5 ") && l.contains(" mask:2 ")),
                        info.toString());
                assertTrue(info.stream().anyMatch(l -> l.startsWith("inotify wd:2 ") && l.contains(" mask:100 ")),
                        info.toString());
                assertEquals(2, info.stream().filter(l -> l.startsWith("inotify wd:")).count(), info.toString());
            }
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
            ImageSet images = images(b, tmp.resolve("images"));
            try (RealKernel k = RealKernel.open()) {
                RestoreException e = assertThrows(RestoreException.class,
                        () -> k.restore(TestPlanContext.of(images).root(root), new InotifyKind()));
                assertTrue(e.getMessage().contains("task 1 fd 4") && e.getMessage().contains("watch wd 1 mask 0x2 on /gone")
                        && e.getMessage().contains("--plugin-option inotify.drop-missing=true drops it"), e.getMessage());
                assertEquals(List.of(), k.strays(1), "nothing left in the task's table");
            }
        });
    }
}
