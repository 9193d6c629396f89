package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dump side of ptys on a real pty opened in the JVM's own table (O_NOCTTY). */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TtyDumperTest {
    private final List<Integer> fds = new ArrayList<>();

    @AfterEach
    void close() {
        fds.forEach(Sys::closeQuietly);
    }

    private int keep(int fd) {
        fds.add(fd);
        return fd;
    }

    private static TtyInfoEntry info(LocalDumpContext ctx) {
        List<ImageEntry> l = ctx.side.getOrDefault(Magic.TTY_INFO, List.of());
        assertEquals(1, l.size(), "one tty-info entry per terminal");
        return (TtyInfoEntry) l.get(0).message();
    }

    @Test
    void masterAndSlave() throws Exception {
        int m = keep(Sys.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0));
        Sys.ioctl(m, Linux.TIOCSPTLCK, Tty.intArg(0));
        byte[] n = new byte[4];
        Sys.ioctl(m, Linux.TIOCGPTN, n);
        int index = Tty.intOf(n);
        int s = keep(Sys.open("/dev/pts/" + index, Linux.O_RDWR | Linux.O_NOCTTY | Linux.O_CLOEXEC, 0));
        Sys.ioctl(s, Linux.TIOCSWINSZ, new byte[] {24, 0, 100, 0, 0, 0, 0, 0});
        Sys.write(s, "out".getBytes(StandardCharsets.UTF_8), 0, 3);

        try (LocalDumpContext ctx = LocalDumpContext.of(m, 10)) {
            assertTrue(TtyDumper.dumps(ctx.file()));
            FileEntry f = new TtyKind().dump(ctx);
            TtyInfoEntry i = info(ctx);
            assertEquals(2 * index + 1, i.getId());
            assertEquals(2 * index + 1, f.getTty().getTtyInfoId());
            assertEquals(index, i.getPty().getIndex());
            assertEquals(24, i.getWinsize().getWsRow());
            assertEquals(100, i.getWinsize().getWsCol());
            assertTrue(!i.getLocked() && !i.getPacketMode());
            assertEquals(0, i.getSid(), "no session has this pty");
            assertEquals("/dev/ptmx", ctx.files.get(0).getReg().getName());
            assertEquals(Integer.toUnsignedLong(f.getTty().getRegfId()), Integer.toUnsignedLong(ctx.files.get(0).getId()));
            assertTrue(ctx.notes.stream().anyMatch(x -> x.contains("not dumped")), "unread bytes noted: " + ctx.notes);
        }
        byte[] buf = new byte[16];
        int got = Sys.read(m, buf, 0, buf.length);
        assertTrue(got >= 3, "the master's unread data is still there");

        try (LocalDumpContext ctx = LocalDumpContext.of(s, 11)) {
            assertTrue(TtyDumper.dumps(ctx.file()));
            FileEntry f = new TtyKind().dump(ctx);
            TtyInfoEntry i = info(ctx);
            assertEquals(2 * index, i.getId());
            assertEquals(2 * index, f.getTty().getTtyInfoId());
            assertEquals("/dev/pts/" + index, ctx.files.get(0).getReg().getName());
            assertTrue(i.hasTermios() && i.hasTermiosLocked());
        }
    }
}
