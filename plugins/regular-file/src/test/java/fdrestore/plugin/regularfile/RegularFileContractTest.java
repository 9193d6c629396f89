package fdrestore.plugin.regularfile;

import static fdrestore.plugin.regularfile.Fixtures.S_IFCHR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFDIR;
import static fdrestore.plugin.regularfile.Fixtures.S_IFREG;
import static fdrestore.plugin.regularfile.Fixtures.reg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.testkit.FakeKernel.FakeFile;
import fdrestore.testkit.FileKindContractTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The file-kind contract for regular files: the open sequence under the root, flags, positions, owners,
 * directories, host devices, linked and ghost remaps, and that every failure names the path and leaves
 * neither an fd nor a ghost behind.
 */
class RegularFileContractTest extends FileKindContractTest {
    private static final byte[] CONTENT = "ghost content, 30 bytes long.\n".getBytes(StandardCharsets.US_ASCII);
    private static final String GHOST = "/tmp/run/v.data";

    @Override
    protected FileKind kind() {
        return new RegularFileKind();
    }

    /** The images of one scenario, and the path each file's errors must name. */
    private static final class Images {
        final RegImageSet set = new RegImageSet();
        final Map<Long, String> paths = new HashMap<>();

        Images task(int pid, int ppid) {
            set.task(pid, ppid);
            return this;
        }

        long file(RegFileEntry reg) {
            long id = set.file(reg);
            paths.put(id, reg.getName());
            return id;
        }

        /** A scenario whose every error names the path of the file that failed. */
        Scenario scenario(String name) {
            return Scenario.of(name, set::write).onFault(f -> {
                String path = paths.get(f.fileId());
                assertTrue(f.mentions(path), "EIO in " + f.call() + " must name " + path + ": " + f.error().getMessage());
            });
        }

        /** A user of the ghost of id 1 at GHOST (its content CONTENT). */
        long ghostUser(int id, int flags, long pos) {
            set.remap(Fixtures.remap(id, 1, Remaps.GHOST));
            return file(reg(id, GHOST, flags, pos).setSize(CONTENT.length).setMode(S_IFREG | 0640).build());
        }

        Images ghost() {
            set.ghost(1, Fixtures.ghostImage(S_IFREG | 0640, CONTENT));
            return this;
        }
    }

    /** A scenario with the ghost: its directory exists, fstat answers its size, and it is gone after any outcome. */
    private static Scenario ghostScenario(Images images, String name) {
        return images.scenario(name).root(r -> Files.createDirectories(r.resolve("tmp/run")))
                .stat("tmp/run/v.data", new TaskTable.Stat(S_IFREG | 0640, CONTENT.length, 1, 2, 0))
                .expect(x -> assertGhostGone(x.root()))
                .onFault(f -> assertGhostGone(f.root()));
    }

    private static void assertGhostGone(Path root) {
        assertFalse(Files.exists(root.resolve("tmp/run/v.data"), LinkOption.NOFOLLOW_LINKS), "the ghost is unlinked again");
    }

    /** The name linked for the open is gone again; the link file stays. */
    private static void assertLinkedRemapCleaned(Path root) {
        assertFalse(Files.exists(root.resolve("tmp/dir/gone"), LinkOption.NOFOLLOW_LINKS), "the linked name is removed");
        assertTrue(Files.exists(root.resolve("tmp/dir/link_remap.3"), LinkOption.NOFOLLOW_LINKS), "the link file stays");
    }

    private static boolean logged(FakeFile f, String regex) {
        return f.log().stream().anyMatch(c -> c.matches(regex));
    }

    @Override
    protected List<Scenario> scenarios() {
        Images stripped = new Images().task(1, 0);
        long data = stripped.file(reg(5, "/tmp/x/data", Linux.O_WRONLY | Linux.O_APPEND | Linux.O_CREAT | Linux.O_TRUNC
                | Linux.O_CLOEXEC | Linux.O_LARGEFILE, 0).build());
        stripped.set.fd(1, 3, data);

        Images pos = new Images().task(1, 0);
        long zero = pos.file(reg(5, "/a", Linux.O_RDONLY, 0).build());
        long seek = pos.file(reg(6, "/b", Linux.O_RDWR, 1234).build());
        long path = pos.file(reg(7, "/c", Linux.O_PATH, 77).build());
        pos.set.fd(1, 3, zero).fd(1, 4, seek).fd(1, 5, path);

        Images dirs = new Images().task(1, 0);
        long cwd = dirs.file(reg(7, "/tmp/criu-work/run", 0, 0).setMode(S_IFDIR | 0755).build());
        long slash = dirs.file(reg(8, "/", 0, 0).setMode(S_IFDIR | 0755).build());
        dirs.set.fd(1, 3, cwd).fd(1, 4, slash);

        Images dev = new Images().task(1, 0);
        long nul = dev.file(reg(4, "/dev/null", Linux.O_RDWR | Linux.O_LARGEFILE, 0).setMode(S_IFCHR | 0666).build());
        dev.set.fd(1, 0, nul);

        Images fown = new Images().task(100, 0);
        long sig = fown.file(reg(5, "/f", Linux.O_RDWR, 0).setFown(Fixtures.fown(29, 1, 4242)).build());
        long grp = fown.file(reg(6, "/g", Linux.O_RDWR, 0).setFown(Fixtures.fown(0, 2, 4242)).build());
        fown.set.fd(100, 3, sig).fd(100, 4, grp);

        // Every call a regular file can make: root, openat2, fstat, lseek, two fcntl, close.
        Images all = new Images().task(1, 0);
        all.set.fd(1, 3, all.file(reg(5, "/f", Linux.O_RDWR, 9).setFown(Fixtures.fown(29, 1, 4242)).build()));

        Images linked = new Images().task(1, 0);
        linked.set.file(reg(20, "/tmp/dir/link_remap.3", 0, 0).build());
        linked.set.remap(Fixtures.remap(5, 20, Remaps.LINKED));
        long gone = linked.file(reg(5, "/tmp/dir/gone", Linux.O_RDWR, 3).setSize(0).build());
        linked.set.fd(1, 3, gone);

        Images ghost = new Images().task(1, 0).ghost();
        long alone = ghost.ghostUser(5, Linux.O_RDWR | Linux.O_LARGEFILE, 21);
        ghost.set.fd(1, 3, alone);

        Images shared = new Images().task(1, 0).task(2, 1).ghost();
        long ga = shared.ghostUser(5, Linux.O_RDWR, 100);
        long gb = shared.ghostUser(6, Linux.O_RDWR | Linux.O_APPEND, 30);
        shared.set.fd(1, 3, ga).fd(2, 12, ga).fd(2, 4, gb, true);

        Images abort = new Images().task(1, 0).ghost();
        long first = abort.ghostUser(5, Linux.O_RDWR, 0);
        long missing = abort.file(reg(9, "/tmp/run/missing", Linux.O_RDONLY, 0).build());
        abort.set.fd(1, 3, first).fd(1, 9, missing);

        return List.of(
                stripped.scenario("create, truncate and cloexec stripped, opened under the root").expect(x -> {
                    FakeFile f = x.file(1, 3);
                    assertEquals(Linux.O_WRONLY | Linux.O_APPEND | Linux.O_LARGEFILE, f.flags());
                    List<String> calls = x.callsOf(data);
                    int rootFd = x.table(1).tempFloor();
                    assertEquals("open(" + x.root() + ", 0" + Integer.toOctalString(RegularFileRestorer.ROOT_FLAGS) + ")",
                            calls.get(0));
                    // one batch: open the root, openat2 O_PATH in it, fstat the file, close the root
                    assertEquals("openat2(" + rootFd + ", tmp/x/data, 0" + Integer.toOctalString(Linux.O_PATH)
                            + ", resolve=0x10)", calls.get(1));
                    assertEquals("fstat(" + (rootFd + 1) + ")", calls.get(2));
                    assertEquals("close(" + rootFd + ")", calls.get(3));
                    // then the file, opened through its O_PATH fd with the image's flags
                    assertEquals("/proc/thread-self/fd/" + (rootFd + 1), f.what());
                    assertEquals("open(/proc/thread-self/fd/" + (rootFd + 1) + ", 0" + Integer.toOctalString(f.flags())
                            + ")", calls.get(4));
                    assertEquals("close(" + (rootFd + 1) + ")", calls.get(5));
                }),
                pos.scenario("positions: none at 0, lseek, none for O_PATH").expect(x -> {
                    assertTrue(x.file(1, 3).log().isEmpty(), x.file(1, 3).log().toString());
                    assertTrue(x.callsOf(zero).stream().noneMatch(c -> c.startsWith("lseek")), x.callsOf(zero).toString());
                    assertTrue(logged(x.file(1, 4), "lseek\\(\\d+, 1234, 0\\)"), x.file(1, 4).log().toString());
                    assertEquals(Linux.O_PATH, x.file(1, 5).flags());
                    assertTrue(x.file(1, 5).log().isEmpty(), x.file(1, 5).log().toString());
                }),
                dirs.scenario("directories open with the image's flags: no O_DIRECTORY added")
                        .stat("tmp/criu-work/run", new TaskTable.Stat(S_IFDIR | 0755, 4096, 1, 2, 0))
                        .stat(".", new TaskTable.Stat(S_IFDIR | 0755, 4096, 1, 3, 0)).expect(x -> {
                    assertEquals(0, x.file(1, 3).flags());
                    assertTrue(x.callsOf(cwd).stream().anyMatch(c -> c.contains("tmp/criu-work/run, 0"
                            + Integer.toOctalString(Linux.O_PATH) + ",")), x.callsOf(cwd).toString());
                    assertTrue(x.callsOf(slash).stream().anyMatch(c -> c.contains(", ., 0"
                            + Integer.toOctalString(Linux.O_PATH) + ",")), x.callsOf(slash).toString());
                }),
                dev.scenario("a host character device opens on the host")
                        .stat("/dev/null", new TaskTable.Stat(S_IFCHR | 0666, 0, 5, 4, 0x103)).expect(x -> {
                    FakeFile f = x.file(1, 0);
                    assertEquals("/dev/null", f.what());
                    assertEquals(Linux.O_RDWR | Linux.O_LARGEFILE | Linux.O_NOCTTY, f.flags());
                    assertTrue(x.callsOf(nul).stream().noneMatch(c -> c.startsWith("openat2")), x.callsOf(nul).toString());
                }),
                fown.scenario("owner and signal of a process outside the tree").expect(x -> {
                    FakeFile f = x.file(100, 3);
                    assertTrue(logged(f, "fcntl\\(\\d+, 10, 29\\)"), f.log().toString());
                    assertTrue(logged(f, "fcntl\\(\\d+, 8, 4242\\)"), f.log().toString());
                    FakeFile g = x.file(100, 4);
                    assertEquals(List.of(), g.log().stream().filter(c -> c.contains(", 10, ")).toList(), "no signal set");
                    assertTrue(logged(g, "fcntl\\(\\d+, 8, -4242\\)"), g.log().toString());
                }),
                all.scenario("position, signal and owner: every call fails in turn"),
                linked.scenario("a linked remap opens the original name, linked to the link file for the open")
                        .root(r -> {
                            Files.createDirectories(r.resolve("tmp/dir"));
                            Files.createFile(r.resolve("tmp/dir/link_remap.3"));
                        })
                        .onFault(f -> assertLinkedRemapCleaned(f.root()))
                        .expect(x -> {
                            assertTrue(x.callsOf(gone).stream().anyMatch(c -> c.contains(", tmp/dir/gone, 0"
                                    + Integer.toOctalString(Linux.O_PATH) + ",")), x.callsOf(gone).toString());
                            assertEquals(Linux.O_RDWR, x.file(1, 3).flags());
                            assertLinkedRemapCleaned(x.root());
                        }),
                ghostScenario(ghost, "a ghost file is created, opened and unlinked").expect(x -> {
                    FakeFile f = x.file(1, 3);
                    assertEquals("tmp/run/v.data", f.what());
                    assertEquals(Linux.O_RDWR | Linux.O_LARGEFILE, f.flags());
                    assertTrue(f.log().stream().anyMatch(c -> c.contains(", 21, 0)")), f.log().toString());
                }),
                ghostScenario(shared, "a ghost shared across tasks, and a second description of it").expect(x -> {
                    FakeFile f3 = x.file(1, 3);
                    assertEquals("tmp/run/v.data", f3.what());
                    assertSame(f3, x.file(2, 12), "task 2 fd 12 is the same description as task 1 fd 3");
                    FakeFile f4 = x.file(2, 4);
                    assertEquals(Linux.O_RDWR | Linux.O_APPEND, f4.flags());
                    assertTrue(f4.log().stream().anyMatch(c -> c.contains(", 30, 0)")), f4.log().toString());
                }),
                ghostScenario(abort, "a ghost, then a file whose open fails"));
    }
}
