package fdrestore.plugin.eventfd;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FdChecks;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of eventfd counters ({@code FdType.EVENTFD}, {@code EventfdFileEntry} in files.img).
 *
 * <p>{@code flags} is the file's f_flags as criu dumps them: O_RDWR, plus O_NONBLOCK (= EFD_NONBLOCK) when
 * set. EFD_SEMAPHORE is not an f_flag, so criu cannot record it; an image that sets bit 0 (EFD_SEMAPHORE,
 * never set in an eventfd's f_flags, whose access mode is O_RDWR) asks for a semaphore. EFD_CLOEXEC is the
 * fd's flag (FdinfoEntry.flags), applied by the engine. A counter above 0xfffffffffffffffe cannot exist
 * (the kernel refuses to write it) and is a plan error.
 */
@Extension
public final class EventfdKind implements FileKind, FileDumper {
    static final int EFD_SEMAPHORE = 1;
    static final int EFD_NONBLOCK = 04000;
    /** The largest value an eventfd counter holds (ULLONG_MAX - 1). */
    static final long MAX_COUNTER = 0xfffffffffffffffeL;

    @Override
    public String name() {
        return "eventfd";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.EVENTFD);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return EventfdDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return EventfdDumper.dump(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasEfd()) {
            throw new PlanException("eventfd file " + file.id() + ": files.img has no eventfd entry for it");
        }
        EventfdFileEntry e = file.entry().getEfd();
        if (Long.compareUnsigned(e.getCounter(), MAX_COUNTER) > 0) {
            throw new PlanException("eventfd file " + file.id() + ": counter 0x" + Long.toHexString(e.getCounter())
                    + " is above the largest an eventfd holds (0xfffffffffffffffe)");
        }
        return new EventfdRestorer(file.id(), e.getFlags() & (EFD_SEMAPHORE | EFD_NONBLOCK), e.getCounter());
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasEfd()) {
            return null;
        }
        return "eventfd count " + entry.getEfd().getCounter() + " flags 0" + Integer.toOctalString(entry.getEfd().getFlags());
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "anon_inode:[eventfd]");
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasEfd() ? new Summary(null, entry.getEfd().getFlags(), null) : null;
    }
}
