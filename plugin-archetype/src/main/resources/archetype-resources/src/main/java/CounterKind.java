package ${package};

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The "${kindName}" file kind: eventfd counters ({@code FdType.EVENTFD}, {@code EventfdFileEntry} in
 * files.img). Rewrite it into your own kind: the fd types it restores, the plan (no syscall here: refuse
 * an impossible image with a {@link PlanException} naming the file), and the dump of a live fd.
 */
@Extension
public final class CounterKind implements FileKind, FileDumper {
    static final int EFD_NONBLOCK = 04000;
    /** The largest value an eventfd counter holds. */
    static final long MAX_COUNTER = 0xfffffffffffffffeL;

    @Override
    public String name() {
        return "${kindName}";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.EVENTFD);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasEfd()) {
            throw new PlanException("${kindName} file " + file.id() + ": files.img has no eventfd entry for it");
        }
        EventfdFileEntry e = file.entry().getEfd();
        if (Long.compareUnsigned(e.getCounter(), MAX_COUNTER) > 0) {
            throw new PlanException("${kindName} file " + file.id() + ": counter 0x" + Long.toHexString(e.getCounter())
                    + " is above the largest an eventfd holds");
        }
        return new CounterRestorer(file.id(), e.getFlags() & EFD_NONBLOCK, e.getCounter());
    }

    @Override
    public boolean dumps(LiveFile file) {
        return CounterDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return CounterDumper.dump(ctx);
    }
}
