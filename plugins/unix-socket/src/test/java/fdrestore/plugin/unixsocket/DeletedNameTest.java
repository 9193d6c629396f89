package fdrestore.plugin.unixsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.sys.Errno;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DeletedName} on the testkit's fake tables, whose bind makes no file: every failure after the
 * directories were made and the user's file was moved aside leaves the root as it was.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeletedNameTest {
    @TempDir
    Path root;
    private final FakeKernel kernel = new FakeKernel();

    private static UnixSock deleted(String path) {
        UnixSkEntry e = UnixSkEntry.newBuilder().setId(1).setIno(9001).setType(UnixSock.SOCK_DGRAM)
                .setState(UnixSock.TCP_CLOSE).setFlags(2).setUflags(0).setBacklog(0).setPeer(0)
                .setFown(FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0))
                .setOpts(UnixImageBuilder.opts()).setDeleted(true)
                .setName(ByteString.copyFrom((path + "\0").getBytes(StandardCharsets.UTF_8))).build();
        return UnixSock.of(e, new fdrestore.api.spi.FleInfo(10, 3, false));
    }

    private List<Path> all() throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.sorted().toList();
        }
    }

    @Test
    void failedBindRemovesTheDirectoriesItMade() throws Exception {
        Files.createDirectories(root.resolve("run"));
        List<Path> before = all();
        FakeTaskTable t = kernel.table(10, 100).failOn("bind", 1, Errno.EACCES);
        int fd = t.socket(1, 2, 0);
        IOException e = assertThrows(IOException.class,
                () -> DeletedName.bind(root, deleted("/run/a/b/x.sock"), t, fd, true, fdrestore.api.spi.Journal.NONE));
        assertTrue(e.getMessage().contains("cannot bind its deleted name /run/a/b/x.sock")
                && e.getMessage().contains("EACCES"), e.getMessage());
        assertEquals(before, all(), "run/a and run/a/b are gone again");
    }

    @Test
    void failureAfterBindMovesTheUsersFileBack() throws Exception {
        Files.createDirectories(root.resolve("run"));
        Path user = Files.writeString(root.resolve("run/x.sock"), "user data");
        Object inode = Files.getAttribute(user, "unix:ino");
        List<Path> before = all();
        FakeTaskTable t = kernel.table(10, 100);
        int fd = t.socket(1, 2, 0);
        // The fake bind makes no file, so the socket file cannot be moved to its private name.
        IOException e = assertThrows(IOException.class,
                () -> DeletedName.bind(root, deleted("/run/x.sock"), t, fd, false, fdrestore.api.spi.Journal.NONE));
        assertTrue(e.getMessage().contains("cannot move the socket file of its deleted name aside"), e.getMessage());
        assertEquals(before, all());
        assertEquals("user data", Files.readString(user));
        assertEquals(inode, Files.getAttribute(user, "unix:ino"), "the same file, moved back, not a copy");
    }

    @Test
    void parentThatIsAFileIsRefusedBeforeAnythingIsMade() throws Exception {
        Files.createDirectories(root.resolve("run"));
        Files.writeString(root.resolve("run/file"), "x");
        List<Path> before = all();
        FakeTaskTable t = kernel.table(10, 100);
        int fd = t.socket(1, 2, 0);
        IOException e = assertThrows(IOException.class,
                () -> DeletedName.bind(root, deleted("/run/file/d/x.sock"), t, fd, true, fdrestore.api.spi.Journal.NONE));
        assertTrue(e.getMessage().contains("exists and is not a directory (nothing was created)"), e.getMessage());
        assertEquals(before, all());
        assertFalse(t.calls().stream().anyMatch(c -> c.startsWith("bind")), "no bind was tried: " + t.calls());
    }
}
