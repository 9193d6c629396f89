package ${package};

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.LiveFile;

/** The dump side: what {@code /proc/PID/fdinfo/FD} says of a live counter, as a files.img entry. */
final class CounterDumper {
    /** O_CLOEXEC as fdinfo folds it into the flags (the fd's flag, not the file's). */
    static final int O_CLOEXEC = 02000000;

    private CounterDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isAnonInode("eventfd");
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        try {
            long count = in.require("eventfd-count", 16);
            EventfdFileEntry e = EventfdFileEntry.newBuilder().setId((int) ctx.id()).setFlags(in.flags() & ~O_CLOEXEC)
                    .setFown(ctx.fown()).setCounter(count).build();
            return FileEntry.newBuilder().setType(FdType.EVENTFD.code()).setId((int) ctx.id()).setEfd(e).build();
        } catch (IllegalArgumentException e) {
            throw new DumpException("${kindName}: " + e.getMessage() + " (fdinfo: " + in + ")", e);
        }
    }
}
