package fdrestore.plugin.pipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dump side of pipes and fifos on real pipes of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PipeDumperTest {
    private int[] fds = new int[0];

    @AfterEach
    void close() {
        for (int fd : fds) {
            Sys.closeQuietly(fd);
        }
    }

    private int[] keep(int... more) {
        int[] all = Arrays.copyOf(fds, fds.length + more.length);
        System.arraycopy(more, 0, all, fds.length, more.length);
        fds = all;
        return more;
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('A' + i % 26);
        }
        return b;
    }

    private static void writeAll(int fd, byte[] data) throws Exception {
        int off = 0;
        while (off < data.length) {
            off += Sys.write(fd, data, off, data.length - off);
        }
    }

    @Test
    void queuedDataIsCopiedWithoutConsumingIt() throws Exception {
        int[] p = keep(Sys.pipe2(Linux.O_CLOEXEC | Linux.O_NONBLOCK));
        Sys.fcntl(p[1], Linux.F_SETPIPE_SZ, 1 << 20);
        byte[] data = pattern(200_000);
        writeAll(p[1], data);
        FileEntry e;
        PipeKind kind = new PipeKind();
        try (LocalDumpContext ctx = LocalDumpContext.of(p[1], 4)) {
            assertTrue(kind.dumps(ctx.file()));
            assertFalse(new FifoKind().dumps(ctx.file()));
            e = kind.dump(ctx);
            assertEquals(Sys.fstat(p[1]).ino(), Integer.toUnsignedLong(e.getPipe().getPipeId()));
            assertEquals(Linux.O_WRONLY | Linux.O_NONBLOCK, e.getPipe().getFlags(), "open flags, without O_CLOEXEC");
            ImageEntry d = ctx.side.get(Magic.PIPES_DATA).get(0);
            PipeDataEntry pd = (PipeDataEntry) d.message();
            assertEquals(200_000, pd.getBytes());
            assertEquals(1 << 20, pd.getSize());
            assertArrayEquals(data, d.payload());
        }
        byte[] back = new byte[data.length];
        int off = 0;
        while (off < back.length) {
            off += Sys.read(p[0], back, off, back.length - off);
        }
        assertArrayEquals(data, back, "the task still has every byte");
        assertEquals(4, e.getId());
    }

    @Test
    void anEmptyPipeRecordsItsSize() throws Exception {
        int[] p = keep(Sys.pipe2(Linux.O_CLOEXEC));
        try (LocalDumpContext ctx = LocalDumpContext.of(p[0], 1)) {
            new PipeKind().dump(ctx);
            PipeDataEntry pd = (PipeDataEntry) ctx.side.get(Magic.PIPES_DATA).get(0).message();
            assertEquals(0, pd.getBytes());
            assertEquals(65536, pd.getSize());
        }
    }

    @Test
    void aFifoIsItsPathEntryPlusItsData(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("f");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        int r = keep(Sys.open(fifo.toString(), Linux.O_RDONLY | Linux.O_NONBLOCK | Linux.O_CLOEXEC, 0))[0];
        int w = keep(Sys.open(fifo.toString(), Linux.O_WRONLY | Linux.O_CLOEXEC, 0))[0];
        writeAll(w, pattern(500));
        FifoKind kind = new FifoKind();
        try (LocalDumpContext ctx = LocalDumpContext.of(r, 7)) {
            assertTrue(kind.dumps(ctx.file()));
            assertFalse(new PipeKind().dumps(ctx.file()));
            FileEntry e = kind.dump(ctx);
            assertEquals(7, e.getFifo().getId());
            assertEquals(8, e.getFifo().getRegfId());
            FileEntry reg = ctx.files.get(0);
            assertEquals(8, reg.getId());
            assertEquals(fifo.toString(), reg.getReg().getName());
            assertEquals(Linux.O_RDONLY | Linux.O_NONBLOCK | Linux.O_LARGEFILE, reg.getReg().getFlags());
            assertEquals(Linux.S_IFIFO, reg.getReg().getMode() & Linux.S_IFMT);
            assertArrayEquals(pattern(500), ctx.side.get(Magic.FIFO_DATA).get(0).payload());
        }
        byte[] back = new byte[600];
        assertEquals(500, Sys.read(r, back, 0, back.length), "not consumed");
    }
}
