package fdrestore.plugin.eventpoll;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The dump side of epoll: one {@code EventpollTfdEntry} per {@code tfd:} line of the epoll's fdinfo,
 * inline in the {@code EventpollFileEntry} (as criu 4.x writes them, with id 0). The restore finds a
 * target's file through fd {@code tfd} of the task the epoll is dumped from, so each target is checked
 * with kcmp(KCMP_EPOLL_TFD): fd {@code tfd} of that task must still be the watched file. A registration
 * whose fd was closed (or reused for another file) after it was added cannot be expressed in the images.
 */
final class EpollDumper {
    /** "tfd:        5 events:       1d data:             e7e0  pos:0 ino:40e sdev:10". */
    static final Pattern TFD = Pattern.compile("tfd:\\s*(\\d+)\\s+events:\\s*([0-9a-fA-F]+)\\s+data:\\s*([0-9a-fA-F]+)"
            + "\\s+pos:\\s*(\\d+)\\s+ino:\\s*([0-9a-fA-F]+)\\s+sdev:\\s*([0-9a-fA-F]+).*");

    private EpollDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isAnonInode("eventpoll");
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        EventpollFileEntry.Builder ep = EventpollFileEntry.newBuilder().setId((int) ctx.id())
                .setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC).setFown(ctx.fown());
        Map<Integer, Integer> seen = new HashMap<>();
        for (String line : f.fdinfo().lines("tfd")) {
            Matcher m = TFD.matcher(line.trim());
            if (!m.matches()) {
                throw new DumpException("epoll: cannot parse its fdinfo line \"" + line.trim() + "\"");
            }
            int tfd = Integer.parseInt(m.group(1));
            int toff = seen.merge(tfd, 1, Integer::sum) - 1;
            long ino = Long.parseUnsignedLong(m.group(5), 16);
            if (!ctx.kcmpSame(Linux.KCMP_EPOLL_TFD, tfd, ctx.fd(), tfd, toff)) {
                throw DumpException.unsupported("epoll watches fd " + tfd + " (inode " + ino + "), but fd " + tfd
                        + " of task " + ctx.pid() + " is " + (ctx.fileIdOf(tfd).isPresent() || contains(ctx, tfd)
                        ? "now another file" : "closed") + "; the images name a target by its fd in that task");
            }
            if (ctx.fileIdOf(tfd).isEmpty()) {
                // Left out by --skip-unknown (dumped after every other kind, so this is settled): the
                // restored epoll cannot watch a file the images do not have.
                ctx.note("task " + ctx.pid() + " fd " + ctx.fd() + " (epoll): its target fd " + tfd
                        + " is left out of the dump, so the restored epoll does not watch it");
                continue;
            }
            ep.addTfd(EventpollTfdEntry.newBuilder().setId(0).setTfd(tfd)
                    .setEvents((int) Long.parseLong(m.group(2), 16))
                    .setData(Long.parseUnsignedLong(m.group(3), 16))
                    .setPos(Long.parseLong(m.group(4)))
                    .setInode(ino)
                    .setDev((int) Long.parseLong(m.group(6), 16)));
        }
        return FileEntry.newBuilder().setType(FdType.EVENTPOLL.code()).setId((int) ctx.id()).setEpfd(ep).build();
    }

    private static boolean contains(DumpContext ctx, int fd) {
        for (int x : ctx.taskFds()) {
            if (x == fd) {
                return true;
            }
        }
        return false;
    }
}
