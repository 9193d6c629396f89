package fdrestore.plugin.fanotify;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/** Fanotify groups restored into a real private fd table, checked through the kernel's fdinfo. */
@EnabledIf(value = "fanotifyWorks", disabledReason = "fanotify_init needs CAP_SYS_ADMIN and CONFIG_FANOTIFY")
class FanotifyRealTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private RealKernel kernel;

    static boolean fanotifyWorks() {
        try {
            fdrestore.api.spi.Syscalls.closeLocal((int) fdrestore.api.spi.Syscalls.local("fanotify_init", 1, 0));
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @BeforeEach
    void start() throws Exception {
        kernel = RealKernel.open();
    }

    /** Fails on an fanotify or O_PATH fd the kind left in the JVM's table. */
    @AfterEach
    void stop() throws Exception {
        kernel.close();
    }

    /** Restores the images of {@code b} under {@code root} into task 1 (a temporary left there fails it). */
    private void restore(ImageSetBuilder b, Path root) throws Exception {
        ImageSet images = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        kernel.restore(TestPlanContext.of(images).root(root), new FanotifyKind());
    }

    private List<String> fdinfo(int fd) throws Exception {
        return List.of(kernel.fdinfo(1, fd).split("\n"));
    }

    @Test
    void theGroupKeepsItsFlagsAndEachMarkItsMasks() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = tmp.resolve("root");
            Files.createDirectories(root.resolve("w"));
            Files.writeString(root.resolve("w/file"), "x");
            long ino = (long) Files.getAttribute(root.resolve("w/file"), "unix:ino");
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long id = FanotifyContractTest.fanotify(b, 02 | 04000, 0x12, 0100000,
                    FanotifyContractTest.mount(0x40, 0x40000038, 0x3, "/"), FanotifyContractTest.inode(0, 0x3b, 0, "/w/file"));
            b.fd(1, 4, id);
            restore(b, root);
            List<String> info = fdinfo(4);
            assertTrue(info.contains("fanotify flags:12 event-flags:8000"), info.toString());
            assertTrue(info.stream().anyMatch(l -> l.startsWith("fanotify mnt_id:")
                    && l.endsWith(" mflags:40 mask:40000038 ignored_mask:3")), info.toString());
            assertTrue(info.stream().anyMatch(l -> l.startsWith("fanotify ino:" + Long.toHexString(ino) + " ")
                    && l.contains(" mflags:0 mask:3b ignored_mask:0 ")), info.toString());
            assertTrue(info.stream().anyMatch(l -> l.startsWith("flags:") && l.endsWith("4002")), info.toString());
            assertEquals(List.of(), new FanotifyKind().verify(ImageSet.open(b.write(tmp.resolve("again"))).file(id)
                    .orElseThrow(), "anon_inode:[fanotify]", fdrestore.api.spi.Fdinfo.parse(String.join("\n", info))),
                    "the kind's own check agrees");
        });
    }

    @Test
    void aMarkWhosePathIsGoneFailsNamingItAndLeavesNothing() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = tmp.resolve("root2");
            Files.createDirectories(root);
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long id = FanotifyContractTest.fanotify(b, 02, 0, 0, FanotifyContractTest.mount(0, 0x8, 0, "/"),
                    FanotifyContractTest.inode(0, 0x2, 0, "/gone"));
            b.fd(1, 4, id);
            RestoreException e = assertThrows(RestoreException.class, () -> restore(b, root));
            assertTrue(e.getMessage().contains("task 1 fd 4") && e.getMessage().contains("inode mark on /gone mask 0x2")
                    && e.getMessage().contains("ENOENT"), e.getMessage());
            assertEquals(List.of(), kernel.strays(1), "nothing left in the task's table");
        });
    }

    @Test
    void aSymbolicLinkCannotLeadAMarkOutOfTheRoot() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path root = tmp.resolve("root3");
            Files.createDirectories(root);
            Path outside = tmp.resolve("outside");
            Files.writeString(outside, "secret");
            Files.createSymbolicLink(root.resolve("link"), Path.of("../outside"));
            ImageSetBuilder b = new ImageSetBuilder();
            b.task(1, 0);
            long id = FanotifyContractTest.fanotify(b, 02, 0, 0, FanotifyContractTest.inode(0, 0x2, 0, "/link"));
            b.fd(1, 4, id);
            assertThrows(RestoreException.class, () -> restore(b, root), "../outside resolves to /outside under the root: absent");
        });
    }
}
