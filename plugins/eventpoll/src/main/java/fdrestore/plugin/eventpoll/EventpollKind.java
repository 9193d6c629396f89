package fdrestore.plugin.eventpoll;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.EventpollTfdEntry;
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
 * The file kind of epoll instances ({@code FdType.EVENTPOLL}). The plan ({@link EpollPlan}) finds each
 * watched target's file from the images and picks a master that holds every target; the restorer
 * ({@link EpollRestorer}) creates the epoll, reports it, then adds the targets at their final fd numbers
 * once they are restored in the master's table.
 */
@Extension
public final class EventpollKind implements FileKind, FileDumper {
    @Override
    public String name() {
        return "eventpoll";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.EVENTPOLL);
    }

    @Override
    public boolean dumps(LiveFile file) {
        return EpollDumper.dumps(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        return EpollDumper.dump(ctx);
    }

    /** An epoll's entry names its targets by fd: it is dumped once every target's fate is known. */
    @Override
    public boolean namesOtherFds() {
        return true;
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        return new EpollRestorer(EpollPlan.of(file, ctx.images()));
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        if (!entry.hasEpfd()) {
            return null;
        }
        List<String> t = new ArrayList<>();
        for (EventpollTfdEntry tfd : entry.getEpfd().getTfdList()) {
            t.add("fd " + tfd.getTfd() + " events 0x" + Integer.toHexString(tfd.getEvents()) + " data 0x"
                    + Long.toHexString(tfd.getData()));
        }
        return "eventpoll " + (t.isEmpty() ? "with no target" : "targets " + String.join(", ", t));
    }

    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, link, "anon_inode:[eventpoll]");
        return out;
    }

    @Override
    public Summary summary(FileEntry entry, ImageSet images) {
        return entry.hasEpfd() ? new Summary(null, entry.getEpfd().getFlags(), null) : null;
    }

    /** Its targets, by fd in the epoll's task: they are restored first. */
    @Override
    public List<FileEdge> graphEdges(FileEntry entry, ImageSet images) {
        List<FileEdge> out = new ArrayList<>();
        if (entry.hasEpfd()) {
            for (EventpollTfdEntry tfd : entry.getEpfd().getTfdList()) {
                out.add(FileEdge.afterFd(tfd.getTfd(), "epoll"));
            }
        }
        return out;
    }
}
