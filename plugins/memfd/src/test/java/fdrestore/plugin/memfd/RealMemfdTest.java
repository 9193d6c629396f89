package fdrestore.plugin.memfd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.MemfdFileEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.spi.Syscalls;
import fdrestore.core.dump.LocalDumpContext;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.RealKernel;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * memfds on the real kernel: criu 4.2's memfd00 and memfd04 samples and a two-description inode restored
 * by the engine into a private task table (the testkit's {@link RealKernel}) and read back through /proc
 * (contents, size, position, flags, seals, mode); and the dump of a memfd of the JVM's own table.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RealMemfdTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private RealKernel kernel;
    private int pid;

    @BeforeEach
    void start() throws Exception {
        kernel = RealKernel.open();
    }

    @AfterEach
    void stop() throws Exception {
        kernel.close();
    }

    /** Restores the memfd files of {@code images}, whose task {@code pid} the test looks at. */
    private void restore(ImageSet images, int pid) {
        this.pid = pid;
        assertTimeoutPreemptively(LIMIT, () -> {
            kernel.restore(images, new MemfdKind());
        });
    }

    private Path fd(int n) {
        return kernel.fd(pid, n);
    }

    private String fdinfo(int n) throws Exception {
        return kernel.fdinfo(pid, n);
    }

    private int seals(int n) throws Exception {
        int local = (int) Syscalls.local("openat", -100, fd(n).toString(), 0, 0);
        try {
            return (int) Syscalls.local("fcntl", local, 1034, 0);
        } finally {
            Syscalls.closeLocal(local);
        }
    }

    @Test
    void memfd00AndMemfd04RestoreTheirContentsPositionFlagsSealsAndMode() throws Exception {
        ImageSet m00 = ImageSet.open(Samples.criu("zdtm/memfd00"));
        restore(m00, 9428);
        byte[] pages = Files.readAllBytes(Samples.criu("zdtm/memfd00").resolve("pages-2.img"));
        assertArrayEquals(Arrays.copyOf(pages, 5), Files.readAllBytes(fd(4)), "the 5 bytes of somename");
        assertEquals("/memfd:somename (deleted)", Files.readSymbolicLink(fd(4)).toString());
        assertTrue(fdinfo(4).contains("pos:\t3\n") && fdinfo(4).contains("flags:\t02102002"), fdinfo(4));
        assertEquals(1, seals(4), "F_SEAL_SEAL");
        assertEquals(0642, (int) Files.getAttribute(fd(4), "unix:mode") & 07777, "memfd.img mode 0100642");

        ImageSet m04 = ImageSet.open(Samples.criu("zdtm/memfd04"));
        restore(m04, 13292);
        assertEquals("#!/bin/true", Files.readString(fd(4)));
        assertTrue(fdinfo(4).contains("pos:\t11\n"), fdinfo(4));
    }

    @Test
    void twoDescriptionsOfOneInodeShareItAndKeepTheirOwnPositionsAndSeals() throws Exception {
        ImageSetBuilder v = new ImageSetBuilder();
        v.task(1, 0);
        Mf.inodes(v, Mf.inode(1, "two", 3 * 4096 + 7, 70).setSeals(0x1 | 0x2 | 0x4 | 0x8).setMode(0100600).build());
        Mf.contents(v, 70, 5, new long[][] {{0, 1}, {3 * 4096, 1}}, Mf.pages(2));
        long rw = Mf.file(v, 2 | 0100000, 100, 1);
        long ro = Mf.file(v, 0100000, 4096 * 3 + 1, 1);
        v.fd(1, 4, rw).fd(1, 5, ro);
        restore(ImageSet.open(v.write(tmp.resolve("images"))), 1);
        byte[] want = new byte[3 * 4096 + 7];
        Arrays.fill(want, 0, 4096, (byte) 'a');
        Arrays.fill(want, 3 * 4096, want.length, (byte) 'b');
        assertArrayEquals(want, Files.readAllBytes(fd(5)), "pages where the pagemap puts them, a hole between");
        assertEquals(Files.getAttribute(fd(4), "unix:ino"), Files.getAttribute(fd(5), "unix:ino"), "one inode");
        assertNotEquals(fdinfo(4), fdinfo(5));
        assertTrue(fdinfo(4).contains("pos:\t100\n") && fdinfo(5).contains("pos:\t12289\n"));
        assertEquals(0xf, seals(4));
        assertEquals(0600, (int) Files.getAttribute(fd(5), "unix:mode") & 07777);
    }

    @Test
    void theDumpWritesCriusImagesWithHolesLeftOut() throws Exception {
        int m = (int) Syscalls.local("memfd_create", "dumped", 1 | 2);
        try {
            byte[] data = new byte[4 * 4096 + 3];
            Arrays.fill(data, 4096 * 3, data.length, (byte) 'z');
            data[1] = 'x';
            Syscalls.local("pwrite64", m, data, data.length, 0L);
            Syscalls.local("fcntl", m, 1033, 4);
            Syscalls.local("lseek", m, 9L, 0);
            try (LocalDumpContext ctx = LocalDumpContext.of(m, 3)) {
                MemfdKind k = new MemfdKind();
                assertTrue(k.dumps(ctx.file()));
                MemfdFileEntry e = k.dump(ctx).getMemfd();
                assertEquals(List.of(3, 9L, 1), List.of(e.getId(), e.getPos(), e.getInodeId()));
                MemfdInodeEntry ie = (MemfdInodeEntry) ctx.side.get(Magic.MEMFD_INODE).get(0).message();
                assertEquals(List.of("dumped", (long) data.length, 4), List.of(ie.getName(), ie.getSize(), ie.getSeals()));
                List<ImageEntry> map = ctx.objects.get(Magic.SHMEM_PAGEMAP.fileName(Integer.toUnsignedLong(ie.getShmid())));
                assertEquals(3, map.size(), "head and two runs: page 0, pages 3-4");
                assertEquals(List.of(0L, 1L), List.of(((PagemapEntry) map.get(1).message()).getVaddr(),
                        ((PagemapEntry) map.get(1).message()).getNrPages()));
                assertEquals(List.of(3 * 4096L, 2L), List.of(((PagemapEntry) map.get(2).message()).getVaddr(),
                        ((PagemapEntry) map.get(2).message()).getNrPages()));
                assertEquals(3 * 4096, ctx.pages.values().iterator().next().length);
            }
        } finally {
            Syscalls.closeLocal(m);
        }
    }
}
