package fdrestore.plugin.pipe;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one image set says about pipes and FIFOs, read once per image set (planning every description of
 * a large tree stays linear): the descriptions of each pipe id with their masters, the queued data, and
 * each pipe's {@link PipePlan}. Callers pass the same image set they got this index for.
 */
final class PipeImages {
    private final Map<Long, List<PipePlan.Member>> pipes = new HashMap<>();
    private final Map<Long, List<PipePlan.Member>> fifos = new HashMap<>();
    private final Map<Long, PipePlan> plans = new HashMap<>();
    private Map<Long, PipeData> pipeData;
    private Map<Long, PipeData> fifoData;

    /**
     * A pipe end that no fd refers to is a member when it exists only in flight ({@link PlanContext#inFlight}), so that the
     * creator hands it its end; which files are in flight follows from the images alone.
     */
    private PipeImages(ImageSet images, PlanContext ctx) {
        for (FileEntry f : images.files().values()) {
            if (!f.hasPipe() && !f.hasFifo()) {
                continue;
            }
            long id = Integer.toUnsignedLong(f.getId());
            FleInfo master = FleInfo.defaultMaster(images, id);
            if (master == null && f.hasPipe()) {
                master = ctx.inFlight(id);
            }
            if (master == null) {
                continue; // no fd refers to it: nothing to restore
            }
            if (f.hasPipe()) {
                pipes.computeIfAbsent(Integer.toUnsignedLong(f.getPipe().getPipeId()), k -> new ArrayList<>())
                        .add(new PipePlan.Member(id, f.getPipe().getFlags(), master));
            } else {
                fifos.computeIfAbsent(Integer.toUnsignedLong(f.getFifo().getPipeId()), k -> new ArrayList<>())
                        .add(new PipePlan.Member(id, 0, master));
            }
        }
    }

    /** The index of this restore's image set, made once per plan ({@link PlanContext#memo}). */
    static PipeImages of(PlanContext ctx) {
        return ctx.memo(PipeImages.class, () -> new PipeImages(ctx.images(), ctx));
    }

    /** The plan of pipe {@code pipeId}. */
    synchronized PipePlan pipePlan(ImageSet images, long pipeId) throws PlanException {
        PipePlan plan = plans.get(pipeId);
        if (plan == null) {
            List<PipePlan.Member> members = pipes.get(pipeId);
            if (members == null) {
                throw new PlanException("pipe " + pipeId + " has no description with an fd");
            }
            PipeData data = pipeData(images).getOrDefault(pipeId, PipeData.none(pipeId));
            data.checkFits("pipe");
            plan = PipePlan.of(pipeId, members, data);
            plans.put(pipeId, plan);
        }
        return plan;
    }

    /** The description of FIFO {@code pipeId} that restores its data: the first master. */
    synchronized long fifoDataOwner(long pipeId) throws PlanException {
        List<PipePlan.Member> members = fifos.get(pipeId);
        if (members == null || members.isEmpty()) {
            throw new PlanException("fifo pipe " + pipeId + " has no description with an fd");
        }
        PipePlan.Member first = members.get(0);
        for (PipePlan.Member m : members) {
            if (m.master().compareTo(first.master()) < 0) {
                first = m;
            }
        }
        return first.fileId();
    }

    /** The queued data of FIFO {@code pipeId} (fifo-data.img), checked against its recorded size. */
    synchronized PipeData fifoData(ImageSet images, long pipeId, String path) throws PlanException {
        if (fifoData == null) {
            fifoData = read(images, Magic.FIFO_DATA);
        }
        PipeData d = fifoData.getOrDefault(pipeId, PipeData.none(pipeId));
        d.checkFits("fifo " + path + ", pipe");
        return d;
    }

    private Map<Long, PipeData> pipeData(ImageSet images) throws PlanException {
        if (pipeData == null) {
            pipeData = read(images, Magic.PIPES_DATA);
        }
        return pipeData;
    }

    private static Map<Long, PipeData> read(ImageSet images, Magic magic) throws PlanException {
        try {
            return PipeData.index(images.image(magic), images.dir().resolve(magic.fileName()));
        } catch (IOException e) {
            throw new PlanException("cannot read " + magic.fileName() + ": " + e.getMessage(), e);
        }
    }
}
