package fdrestore.plugin.unixsocket;

import fdrestore.core.image.FdType;
import fdrestore.core.image.proto.FileEntry;
import fdrestore.core.spi.DumpContext;
import fdrestore.core.spi.DumpException;
import fdrestore.core.spi.FileDumper;
import fdrestore.core.spi.FileInfo;
import fdrestore.core.spi.FileKind;
import fdrestore.core.spi.FileRestorer;
import fdrestore.core.spi.LiveFile;
import fdrestore.core.spi.PlanContext;
import fdrestore.core.spi.PlanException;
import java.util.Set;
import org.pf4j.Extension;

/** The file kind of unix sockets ({@code FdType.UNIXSK}); see {@link UnixImages} for the plan, {@link UnixDumper} for the dump. */
@Extension
public final class UnixSocketKind implements FileKind, FileDumper {
    @Override
    public String name() {
        return "unix";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.UNIXSK);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return UnixDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return UnixDumper.dump(ctx);
    }

    @Override
    public java.util.Map<Long, Integer> inFlight(fdrestore.core.image.ImageSet images) {
        return UnixImages.of(images).inFlight();
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasUsk()) {
            throw new PlanException(file + ": files.img has no unix socket entry for it");
        }
        return new UnixRestorer(UnixImages.of(ctx.images()).plan(file.id()), RestoreNames.of(ctx));
    }
}
