package fdrestore.plugin.pipe;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
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

    /** criu's name of a pipe end: {@code pipe:[PIPE_ID]}. */
    @Override
    public String inheritKey(FileEntry entry, ImageSet images) {
        return entry.hasPipe() ? "pipe:[" + Integer.toUnsignedString(entry.getPipe().getPipeId()) + "]" : null;
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasPipe()) {
            return null;
        }
        int acc = entry.getPipe().getFlags() & 3;
        return "pipe:[" + Integer.toUnsignedString(entry.getPipe().getPipeId()) + "] "
                + (acc == 0 ? "read end" : acc == 1 ? "write end" : "both ends")
                + queued(images, Magic.PIPES_DATA, entry.getPipe().getPipeId());
    }

    /** ", N B queued, size S" for the data queued in pipe {@code pipeId}, as {@code magic} records it; "" if none. */
    static String queued(ImageSet images, Magic magic, int pipeId) {
        try {
            for (ImageEntry e : images.image(magic).entries()) {
                PipeDataEntry d = e.message(PipeDataEntry.class);
                if (d.getPipeId() == pipeId) {
                    return ", " + Integer.toUnsignedString(d.getBytes()) + " B queued"
                            + (d.hasSize() ? ", size " + Integer.toUnsignedString(d.getSize()) : "");
                }
            }
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "pipe:[");
        if (entry.hasPipe()) {
            FdChecks.openFlags(out, entry.getPipe().getFlags(), fdinfo);
        }
        return out;
    }

    @Override
    public KernelObject object(FileEntry entry) {
        return entry.hasPipe() ? new KernelObject("pipe", Integer.toUnsignedLong(entry.getPipe().getPipeId())) : null;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasPipe() ? new Summary(null, entry.getPipe().getFlags(), null) : null;
    }
}
