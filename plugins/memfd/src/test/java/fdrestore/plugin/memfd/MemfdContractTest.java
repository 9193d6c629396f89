package fdrestore.plugin.memfd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.testkit.FileKindContractTest;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memfd plugin on the testkit's fake tables (the inode is a real memfd in the JVM's table, which the
 * contract checks is left with nothing after each restore and each injected fault): which description each
 * file gets, and the plan-time refusal of every field a hostile image can set.
 */
class MemfdContractTest extends FileKindContractTest {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_APPEND = 02000;
    static final int O_LARGEFILE = 0100000;

    @TempDir
    Path tmp;

    @Override
    protected FileKind kind() {
        return new MemfdKind();
    }

    @Override
    protected List<Scenario> scenarios() {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0).task(2, 1);
        Mf.inodes(v, Mf.inode(1, "shared", 3 * 4096 + 5, 70).setSeals(0xe).build(), Mf.inode(2, "empty", 0, 71).build());
        Mf.contents(v, 70, 3, new long[][] {{0, 1}, {2 * 4096, 2}}, Mf.pages(3));
        long rw = Mf.file(v, O_RDWR | O_APPEND | O_LARGEFILE, 3, 1);
        long ro = Mf.file(v, O_RDONLY | O_LARGEFILE, 4097, 1);
        long empty = Mf.file(v, O_RDWR | O_LARGEFILE, 0, 2);
        v.fd(1, 4, rw).fd(2, 4, rw).fd(1, 5, ro).fd(2, 6, empty);
        return List.of(Scenario.of("two descriptions of one inode in two tasks, and an empty memfd", v).expect(x -> {
            assertEquals(List.of("/memfd:shared (deleted)", "/memfd:shared (deleted)"), x.table(1).adopted());
            assertEquals(List.of("/memfd:empty (deleted)"), x.table(2).adopted());
            assertEquals(0, x.table(2).adopted().stream().filter(s -> s.contains("shared")).count(),
                    "task 2 gets the shared description from task 1, not a memfd of its own");
        }));
    }

    private String refusal(Consumer<ImageSetBuilder> images, String maxSize) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        images.accept(b);
        long id = 1;
        b.fd(1, 4, id);
        ImageSet set = ImageSet.open(b.write(tmp.resolve("images-" + System.nanoTime())));
        FileInfo info = new FileInfo(id, FdType.MEMFD, set.file(id).orElseThrow(), List.of(new FleInfo(1, 4, false)));
        PlanContext ctx = TestPlanContext.of(set).option(MemfdKind.MAX_SIZE_OPTION, maxSize);
        return assertThrows(PlanException.class, () -> new MemfdKind().plan(info, ctx)).getMessage();
    }

    private String refusal(MemfdInodeEntry.Builder inode) throws Exception {
        return refusal(b -> {
            Mf.file(b, O_RDWR, 0, 1);
            Mf.inodes(b, inode.build());
            Mf.contents(b, 70, 1, new long[][] {{0, 1}}, Mf.pages(1));
        }, null);
    }

    @Test
    void everyFieldAHostileImageCanSetIsRefusedBeforeAnySyscall() throws Exception {
        assertTrue(refusal(Mf.inode(1, "x".repeat(250), 10, 70)).contains("name of 250 bytes"));
        assertTrue(refusal(Mf.inode(1, "a\0b", 10, 70)).contains("no NUL"));
        assertTrue(refusal(Mf.inode(1, "big", (1L << 30) + 1, 70)).contains("size 1073741825 bytes is above"));
        assertTrue(refusal(Mf.inode(1, "neg", -1, 70)).contains("size 18446744073709551615"));
        assertTrue(refusal(Mf.inode(1, "s", 10, 70).setSeals(0x40)).contains("seals 0x40"));
        assertTrue(refusal(Mf.inode(1, "d", 10, 70).setMode(040755)).contains("mode 040755"));
        assertTrue(refusal(Mf.inode(1, "h", 10, 70).setHugetlbFlag(4)).contains("hugetlb"));
        assertTrue(refusal(Mf.inode(1, "small", 10, 70).setInodeId(9)).contains("inode_id 1 is not in memfd.img"));
        assertTrue(refusal(Mf.inode(1, "nopages", 10, 71)).contains("need pagemap-shmem-71.img"));
        assertTrue(refusal(b -> {
            Mf.file(b, O_RDWR, 0, 1);
            Mf.inodes(b, Mf.inode(1, "outside", 4096, 70).build());
            Mf.contents(b, 70, 1, new long[][] {{4096, 1}}, Mf.pages(1));
        }, null).contains("do not lie within the file's 4096 bytes"));
        assertTrue(refusal(b -> {
            Mf.file(b, O_RDWR, 0, 1);
            Mf.inodes(b, Mf.inode(1, "short", 8192, 70).build());
            Mf.contents(b, 70, 1, new long[][] {{0, 2}}, Mf.pages(1));
        }, null).contains("announces 8192 bytes of pages, but pages-1.img has 4096"));
        assertTrue(refusal(b -> {
            Mf.file(b, O_RDWR | 01000 /* O_TRUNC */, 0, 1);
            Mf.inodes(b, Mf.inode(1, "t", 0, 70).build());
        }, null).contains("flags 01002"));
        assertTrue(refusal(b -> {
            Mf.file(b, O_RDWR, -5, 1);
            Mf.inodes(b, Mf.inode(1, "p", 0, 70).build());
        }, null).contains("pos 18446744073709551611"));
        assertTrue(refusal(b -> {
            Mf.file(b, O_RDWR, 0, 1);
            Mf.inodes(b, Mf.inode(1, "limit", 8192, 70).build());
            Mf.contents(b, 70, 1, new long[][] {{0, 2}}, Mf.pages(2));
        }, "4096").contains("size 8192 bytes is above the 4096"));
        String m = refusal(Mf.inode(1, "s", 10, 70).setSeals(0x40));
        assertTrue(m.startsWith("memfd file 1 (inode 1): "), m);
    }
}
