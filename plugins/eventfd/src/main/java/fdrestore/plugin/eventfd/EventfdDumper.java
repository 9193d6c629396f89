package fdrestore.plugin.eventfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.LiveFile;

/**
 * The dump side of eventfd: the counter ({@code eventfd-count}, hexadecimal in fdinfo) and the file flags
 * (O_RDWR, O_NONBLOCK). A semaphore eventfd ({@code eventfd-semaphore: 1}) is recorded the way this
 * plugin's restore side reads it: bit 0 (EFD_SEMAPHORE) in {@code flags}, which is never an eventfd's
 * access mode (criu itself cannot record it and ignores the bit: F_SETFL does not change the access mode).
 */
final class EventfdDumper {
    /** O_CLOEXEC as fdinfo folds it into the flags (the fd's flag, not the file's). */
    static final int O_CLOEXEC = 02000000;

    private EventfdDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isAnonInode("eventfd");
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        try {
            long count = in.require("eventfd-count", 16);
            int flags = in.flags() & ~O_CLOEXEC;
            if (in.number("eventfd-semaphore", 10).orElse(0) != 0) {
                flags |= EventfdKind.EFD_SEMAPHORE;
            }
            EventfdFileEntry e = EventfdFileEntry.newBuilder().setId((int) ctx.id()).setFlags(flags)
                    .setFown(ctx.fown()).setCounter(count).build();
            return FileEntry.newBuilder().setType(FdType.EVENTFD.code()).setId((int) ctx.id()).setEfd(e).build();
        } catch (IllegalArgumentException e) {
            throw new DumpException("eventfd: " + e.getMessage() + " (fdinfo: " + in + ")", e);
        }
    }
}
