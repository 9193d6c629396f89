package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The root a test restores against is made again from the images where git lost something. */
class SamplesTest {
    private static String perms(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void modesComeFromTheImagesNotFromTheCheckout(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot(Samples.criu("zdtm/cwd00"), tmp.resolve("root"));
        Path dir = root.resolve("tmp/zdtm2/run/cwd00");
        // files.img: the run directory is 040777, the cwd 040700, the outfile 0100644
        assertEquals("rwxrwxrwx", perms(dir));
        assertEquals("rwx------", perms(dir.resolve("cwd00.test")));
        assertEquals("rw-r--r--", perms(dir.resolve("cwd00.out.inprogress")));
    }

    @Test
    void fifoNodesTheImagesOpenAreMadeButDeletedOnesAreNot(@TempDir Path tmp) throws Exception {
        // A live fifo sits at the path of a deleted socket name.
        Path live = Samples.prepareRoot(Samples.criu("zdtm/fifo_upon_unix_socket00"), tmp.resolve("a"));
        Path node = live.resolve("tmp/zdtm2/run/fifo_upon_unix_socket00/fifo_upon_unix_socket00.test");
        assertTrue(Files.exists(node, LinkOption.NOFOLLOW_LINKS), node.toString());
        assertEquals("p", kind(node));

        // The fifo was unlinked before the dump: the restore makes it, not the test.
        Path ghost = Samples.prepareRoot(Samples.criu("zdtm/fifo-ghost"), tmp.resolve("b"));
        assertFalse(Files.exists(ghost.resolve("tmp/zdtm2/run/fifo-ghost/fifo-ghost.test"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aFifoNoteOfAScenarioSampleBecomesAFifo(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("b_fifo", tmp.resolve("root"));
        try (var s = Files.walk(root)) {
            assertTrue(s.anyMatch(p -> kind(p).equals("p")), "b_fifo's fifo node");
        }
        try (var s = Files.walk(root)) {
            assertFalse(s.anyMatch(p -> p.toString().endsWith(".NOTE")));
        }
    }

    /**
     * Issue 23 item 8: a socket file that an earlier restore into the sample's own root left there (git
     * stores none) is not copied into the test's root, where it would stand at the path the restore binds.
     */
    @Test
    void aStraySocketFileInTheSampleRootIsNotCopied(@TempDir Path tmp) throws Exception {
        Path set = Files.createDirectories(tmp.resolve("c2_listenq"));
        Path sample = Samples.criu("c2_listenq");
        try (var w = Files.walk(sample)) {
            for (Path p : (Iterable<Path>) w::iterator) {
                Path d = set.resolve(sample.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(d);
                } else {
                    Files.copy(p, d);
                }
            }
        }
        Path stray = set.resolve("root/tmp/criu-work/run/c2.sock");
        int s = fdrestore.api.sys.Sys.socket(fdrestore.api.sys.Linux.AF_UNIX, fdrestore.api.sys.Linux.SOCK_STREAM
                | fdrestore.api.sys.Linux.SOCK_CLOEXEC, 0);
        try {
            fdrestore.api.sys.Sys.bind(s, fdrestore.api.sys.Sys.unixPathAddress(stray.toString()));
        } finally {
            fdrestore.api.sys.Sys.close(s); // a stale socket file, as a killed restore leaves it
        }
        assertEquals("s", kind(stray));
        Path root = Samples.prepareRoot(set, tmp.resolve("root"));
        assertFalse(Files.exists(root.resolve("tmp/criu-work/run/c2.sock"), LinkOption.NOFOLLOW_LINKS),
                "the stray socket file was copied");
        assertTrue(Files.isDirectory(root.resolve("tmp/criu-work/run")));
    }

    private static String kind(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0010000 ? "p" : (mode & 0170000) == 0140000 ? "s" : "other";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
