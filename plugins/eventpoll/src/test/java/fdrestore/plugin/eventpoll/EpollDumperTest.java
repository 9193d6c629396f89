package fdrestore.plugin.eventpoll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dump side of epoll on a real epoll of the JVM's own table. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EpollDumperTest {
    private final List<Integer> fds = new ArrayList<>();

    @AfterEach
    void close() {
        fds.forEach(Sys::closeQuietly);
    }

    private int keep(int fd) {
        fds.add(fd);
        return fd;
    }

    private int epoll() {
        return keep((int) Sys.libc().syscall(Linux.SYS_EPOLL_CREATE1, Linux.O_CLOEXEC));
    }

    private static void add(int ep, int fd, int events, long data) {
        Pointer ev = Native.allocate(12);
        ev.putInt(0, events);
        ev.putLong(4, data);
        assertEquals(0, Sys.libc().syscall(Linux.SYS_EPOLL_CTL, ep, 1 /* EPOLL_CTL_ADD */, fd, ev.address()));
    }

    @Test
    void targetsAreRecordedWithTheirFdEventsAndData() throws Exception {
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        keep(p[0]);
        keep(p[1]);
        int ep = epoll();
        add(ep, p[0], 0x1, 0xabcdef123L);
        add(ep, p[1], 0x4 | (1 << 31), 7);
        try (LocalDumpContext ctx = LocalDumpContext.of(ep, 5).withFileId(p[0], 1).withFileId(p[1], 2)) {
            EventpollKind kind = new EventpollKind();
            assertTrue(kind.dumps(ctx.file()));
            FileEntry e = kind.dump(ctx);
            assertEquals(5, e.getEpfd().getId());
            assertEquals(Linux.O_RDWR, e.getEpfd().getFlags());
            List<EventpollTfdEntry> t = new ArrayList<>(e.getEpfd().getTfdList());
            t.sort((a, b) -> Integer.compare(a.getTfd(), b.getTfd()));
            assertEquals(p[0], t.get(0).getTfd());
            assertEquals(0x1 | 0x18, t.get(0).getEvents(), "EPOLLERR | EPOLLHUP are always on");
            assertEquals(0xabcdef123L, t.get(0).getData());
            assertEquals(Sys.fstat(p[0]).ino(), t.get(0).getInode(), "a pipe target's inode is its pipe id");
            assertEquals(0x4 | 0x18 | (1 << 31), t.get(1).getEvents());
            assertEquals(0, t.get(1).getId(), "inline, as criu 4.x writes them");
        }
    }

    @Test
    void aTargetWhoseFdNowNamesAnotherFileIsUnsupported() throws Exception {
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        keep(p[0]);
        keep(p[1]);
        int ep = epoll();
        int watched = keep(Sys.dup(p[0]));
        add(ep, watched, 0x1, 1);
        Sys.dup3(p[1], watched, Linux.O_CLOEXEC); // the fd number now holds the write end; the read end lives on in p[0]
        try (LocalDumpContext ctx = LocalDumpContext.of(ep, 5).withFileId(watched, 2)) {
            DumpException e = assertThrows(DumpException.class, () -> new EventpollKind().dump(ctx));
            assertTrue(e.isUnsupported());
            assertTrue(e.getMessage().contains("epoll watches fd " + watched) && e.getMessage().contains("now another file"),
                    e.getMessage());
        }
    }

    /** A target --skip-unknown left out is left out of the epoll too, with a note; the other targets stay. */
    @Test
    void aTargetLeftOutOfTheDumpIsLeftOutOfTheEpollWithANote() throws Exception {
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        keep(p[0]);
        keep(p[1]);
        int ep = epoll();
        add(ep, p[0], 0x1, 1);
        add(ep, p[1], 0x4, 2);
        // p[1] has no file id: it was skipped
        try (LocalDumpContext ctx = LocalDumpContext.of(ep, 5).withFileId(p[0], 1)) {
            FileEntry e = new EventpollKind().dump(ctx);
            assertEquals(List.of(p[0]), e.getEpfd().getTfdList().stream().map(EventpollTfdEntry::getTfd).toList());
            assertEquals(1, ctx.notes.size(), ctx.notes.toString());
            assertTrue(ctx.notes.get(0).contains("target fd " + p[1] + " is left out of the dump"), ctx.notes.toString());
        }
        assertTrue(new EventpollKind().namesOtherFds(), "dumped after the kinds whose skips it must see");
    }
}
