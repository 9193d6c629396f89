package fdrestore.plugin.regularfile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dump side of regular files on real files of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RegularFileDumperTest {
    private final List<Integer> fds = new ArrayList<>();
    private final RegularFileKind kind = new RegularFileKind();

    @TempDir
    Path tmp;

    @AfterEach
    void close() {
        fds.forEach(Sys::closeQuietly);
    }

    private int open(Path p, int flags) throws Exception {
        int fd = Sys.open(p.toString(), flags | Linux.O_CLOEXEC, 0);
        fds.add(fd);
        return fd;
    }

    @Test
    void anAppendFileRecordsFlagsPositionSizeAndMode() throws Exception {
        Path f = tmp.resolve("log");
        Files.writeString(f, "0123456789");
        int fd = open(f, Linux.O_WRONLY | Linux.O_APPEND);
        Sys.write(fd, "abc".getBytes(StandardCharsets.US_ASCII), 0, 3);
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 3)) {
            assertTrue(kind.dumps(ctx.file()));
            FileEntry e = kind.dump(ctx);
            assertEquals(3, e.getId());
            assertEquals(f.toString(), e.getReg().getName());
            assertEquals(Linux.O_WRONLY | Linux.O_APPEND | Linux.O_LARGEFILE, e.getReg().getFlags());
            assertEquals(13, e.getReg().getPos());
            assertEquals(13, e.getReg().getSize());
            assertEquals(Linux.S_IFREG, e.getReg().getMode() & Linux.S_IFMT);
            assertTrue(e.getReg().getMntId() >= 0);
            assertTrue(ctx.side.isEmpty());
        }
    }

    @Test
    void aDeletedFileBecomesAGhostWithItsContent() throws Exception {
        Path f = tmp.resolve("gone");
        Files.writeString(f, "ghost content");
        int fd = open(f, Linux.O_RDWR);
        Sys.lseek(fd, 5, Linux.SEEK_SET);
        Files.delete(f);
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 9)) {
            FileEntry e = kind.dump(ctx);
            assertEquals(f.toString(), e.getReg().getName(), "the name without \" (deleted)\"");
            assertEquals(5, e.getReg().getPos());
            RemapFilePathEntry r = (RemapFilePathEntry) ctx.side.get(Magic.REMAP_FPATH).get(0).message();
            assertEquals(9, r.getOrigId());
            assertEquals(1, r.getRemapType(), "GHOST");
            ImageEntry ghost = ctx.objects.get(Magic.GHOST_FILE.fileName(r.getRemapId())).get(0);
            assertArrayEquals("ghost content".getBytes(StandardCharsets.US_ASCII), ghost.payload());
            assertEquals(Sys.fstat(fd).mode(), ((GhostFileEntry) ghost.message()).getMode());
        }
        assertEquals(5, Sys.lseek(fd, 0, Linux.SEEK_CUR), "the position is untouched");
    }

    @Test
    void aRenamedFileIsDumpedUnderItsNewName() throws Exception {
        Path f = tmp.resolve("a");
        Files.writeString(f, "one");
        int fd = open(f, Linux.O_RDONLY);
        Files.move(f, tmp.resolve("b"));
        Files.writeString(f, "another file under the old name");
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 1)) {
            assertEquals(tmp.resolve("b").toString(), kind.dump(ctx).getReg().getName());
        }
    }

    @Test
    void anUnlinkedNameOfAFileWithOtherLinksIsUnsupported() throws Exception {
        Path f = tmp.resolve("a");
        Files.writeString(f, "one");
        Files.createLink(tmp.resolve("other"), f);
        int fd = open(f, Linux.O_RDONLY);
        Files.delete(f);
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, 1)) {
            DumpException e = assertThrows(DumpException.class, () -> kind.dump(ctx));
            assertTrue(e.isUnsupported());
            assertTrue(e.getMessage().contains("was unlinked but has 1 other link(s)"), e.getMessage());
        }
    }

    @Test
    void hostDevicesAndDirectoriesButNotTerminalsOrFifos(@TempDir Path d) throws Exception {
        try (LocalDumpContext ctx = LocalDumpContext.of(open(Path.of("/dev/null"), Linux.O_RDWR), 1)) {
            assertTrue(kind.dumps(ctx.file()));
            assertEquals(Linux.S_IFCHR, kind.dump(ctx).getReg().getMode() & Linux.S_IFMT);
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(open(d, Linux.O_RDONLY | Linux.O_DIRECTORY), 2)) {
            assertTrue(kind.dumps(ctx.file()));
            assertFalse(kind.dump(ctx).getReg().hasSize());
        }
        Path fifo = d.resolve("f");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try (LocalDumpContext ctx = LocalDumpContext.of(open(fifo, Linux.O_RDONLY | Linux.O_NONBLOCK), 3)) {
            assertFalse(kind.dumps(ctx.file()), "fifos are the fifo kind's");
        }
        try (LocalDumpContext ctx = LocalDumpContext.of(open(Path.of("/dev/ptmx"), Linux.O_RDWR | Linux.O_NOCTTY), 4)) {
            assertFalse(kind.dumps(ctx.file()), "terminals are the tty kind's");
        }
    }
}
