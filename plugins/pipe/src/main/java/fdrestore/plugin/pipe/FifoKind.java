package fdrestore.plugin.pipe;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
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
 * The file kind of named FIFOs ({@code FdType.FIFO}): each description opens the path under
 * {@code --root}; the first one restores the queued data.
 */
@Extension
public final class FifoKind implements FileKind, FileDumper {
    @Override
    public String name() {
        return "fifo";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.FIFO);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return PipeDumper.dumpsFifo(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return PipeDumper.dumpFifo(ctx);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (!file.entry().hasFifo()) {
            throw new PlanException(file + ": files.img has no fifo entry for it");
        }
        FifoEntry fifo = file.entry().getFifo();
        long pipeId = Integer.toUnsignedLong(fifo.getPipeId());
        if (!fifo.hasRegfId()) {
            throw new PlanException(file + ": fifo of pipe " + pipeId + " has no regf_id (no path recorded)");
        }
        long regfId = Integer.toUnsignedLong(fifo.getRegfId());
        FileEntry regf = ctx.images().file(regfId).orElse(null);
        if (regf == null || !regf.hasReg()) {
            throw new PlanException(file + ": fifo of pipe " + pipeId + " names regular-file entry " + regfId
                    + ", which is not in files.img");
        }
        RegFileEntry reg = regf.getReg();
        PipeImages index = PipeImages.of(ctx);
        PipeData data = index.fifoDataOwner(pipeId) == file.id() ? index.fifoData(ctx.images(), pipeId, reg.getName()) : null;
        java.nio.file.Path root = ctx.root() == null ? java.nio.file.Path.of("/") : ctx.root();
        GhostFifo ghost = GhostFifo.of(ctx.images(), file.id(), regfId, reg.getName(), root);
        return new FifoRestorer(file.id(), pipeId, reg.getName(), reg.getFlags(), data, ghost);
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasFifo()) {
            return null;
        }
        FifoEntry fifo = entry.getFifo();
        String path = images.file(Integer.toUnsignedLong(fifo.getRegfId()))
                .filter(FileEntry::hasReg).map(r -> r.getReg().getName() + " " + Describe.openFlags(r.getReg().getFlags()))
                .orElse("(path entry " + fifo.getRegfId() + " missing)");
        return "fifo " + path + " pipe_id " + Integer.toUnsignedString(fifo.getPipeId())
                + PipeKind.queued(images, Magic.FIFO_DATA, fifo.getPipeId());
    }

    /** A FIFO's path is under --root: its identity is checked through its pipe, and its flags by sharing. */
    @Override
    public KernelObject object(FileEntry entry) {
        return entry.hasFifo() ? new KernelObject("pipe", Integer.toUnsignedLong(entry.getFifo().getPipeId())) : null;
    }

    /** The path and flags of its path entry. */
    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        if (!entry.hasFifo() || !entry.getFifo().hasRegfId()) {
            return null;
        }
        return images.file(Integer.toUnsignedLong(entry.getFifo().getRegfId())).filter(FileEntry::hasReg)
                .map(r -> new Summary(r.getReg().getName(), r.getReg().getFlags(), null)).orElse(null);
    }
}
