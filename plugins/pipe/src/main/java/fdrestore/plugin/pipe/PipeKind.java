package fdrestore.plugin.pipe;

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
