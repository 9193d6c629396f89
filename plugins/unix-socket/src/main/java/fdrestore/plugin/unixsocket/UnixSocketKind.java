package fdrestore.plugin.unixsocket;

import fdrestore.api.image.FdType;
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
    public java.util.Map<Long, Integer> inFlight(fdrestore.api.image.ImageSet images) {
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
