package fdrestore.plugin.pipe;

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

/** The file kind of pipes ({@code FdType.PIPE}): one creator per pipe id, the other ends handed to their masters. */
@Extension
public final class PipeKind implements FileKind, FileDumper {
    @Override
    public String name() {
        return "pipe";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.PIPE);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return PipeDumper.dumpsPipe(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return PipeDumper.dumpPipe(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasPipe()) {
            throw new PlanException(file + ": files.img has no pipe entry for it");
        }
        long pipeId = Integer.toUnsignedLong(file.entry().getPipe().getPipeId());
        PipePlan plan = PipeImages.of(ctx).pipePlan(ctx.images(), pipeId);
        try {
            return plan.restorer(file.id());
        } catch (IllegalArgumentException e) {
            throw new PlanException(file + ": " + e.getMessage(), e);
        }
    }
}
