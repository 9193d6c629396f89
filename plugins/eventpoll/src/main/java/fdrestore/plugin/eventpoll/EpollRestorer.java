package fdrestore.plugin.eventpoll;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.O_NONBLOCK;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Restores one epoll (criu's eventpoll_open + post_open). First call: epoll_create1, the status flags,
 * and the fd reported with Again, so that the engine places it and serves it out at once (other epolls
 * may watch it). Later calls: add each target with EPOLL_CTL_ADD, at its final fd number in the master's
 * table, once it is RESTORED there (OPEN for a target that is itself an epoll). Only the master adds, so a
 * shared epoll gets its targets exactly once.
 */
final class EpollRestorer implements FileRestorer {
    static final int EPOLL_CTL_ADD = 1;

    private final EpollPlan plan;
    /** Targets added so far (they are added in plan order). */
    private int added;

    EpollRestorer(EpollPlan plan) {
        this.plan = plan;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        OptionalInt me = ctx.fd();
        if (me.isEmpty()) {
            int fd = create(t);
            return plan.targets.isEmpty() ? OpenResult.done(fd) : OpenResult.again(fd);
        }
        while (added < plan.targets.size()) {
            EpollPlan.Target target = plan.targets.get(added);
            Stage need = target.epoll() ? Stage.OPEN : Stage.RESTORED;
            Optional<Stage> stage = ctx.stageInThisTask(target.fileId());
            if (stage.isEmpty()) {
                return OpenResult.fail("epoll file " + plan.epollId + ": task " + ctx.master().pid()
                        + " has no fd for " + target);
            }
            if (!stage.get().atLeast(need)) {
                ctx.waitingFor("epoll file " + plan.epollId + " waits for " + target + " to be " + need
                        + " in task " + ctx.master().pid() + " (now " + stage.get() + ")");
                return OpenResult.again();
            }
            if (target.fd() != target.firstFd() && !sameFile(t, target)) {
                // A second fd of the target in this task, not planted yet.
                ctx.waitingFor("epoll file " + plan.epollId + " waits for fd " + target.fd() + " (file "
                        + target.fileId() + ") to arrive in task " + ctx.master().pid());
                return OpenResult.again();
            }
            try {
                t.epollCtl(me.getAsInt(), EPOLL_CTL_ADD, target.fd(), target.events(), target.data());
            } catch (SysException e) {
                throw new IOException("epoll file " + plan.epollId + ": adding " + target + ", events 0x"
                        + Integer.toHexString(target.events()) + ": " + e.getMessage(), e);
            }
            added++;
        }
        return OpenResult.done();
    }

    private int create(TaskTable t) throws IOException {
        int fd;
        try {
            fd = t.epollCreate(0);
        } catch (SysException e) {
            throw new IOException("epoll file " + plan.epollId + ": " + e.getMessage(), e);
        }
        int setfl = plan.flags & O_NONBLOCK;
        if (setfl != 0) {
            try {
                t.fcntl(fd, F_SETFL, setfl);
            } catch (SysException e) {
                IOException failure = new IOException("epoll file " + plan.epollId + ": " + e.getMessage(), e);
                try {
                    t.close(fd);
                } catch (SysException c) {
                    failure.addSuppressed(c);
                }
                throw failure;
            }
        }
        return fd;
    }

    /** True when the target's chosen fd and its first fd in this table are one inode (the slot arrived). */
    private static boolean sameFile(TaskTable t, EpollPlan.Target target) {
        try {
            TaskTable.Stat a = t.fstat(target.fd());
            TaskTable.Stat b = t.fstat(target.firstFd());
            return a.dev() == b.dev() && a.ino() == b.ino() && a.mode() == b.mode();
        } catch (SysException e) {
            return false;
        }
    }

    @Override
    public List<Dependency> dependencies() {
        Map<Long, Dependency> deps = new LinkedHashMap<>();
        for (EpollPlan.Target target : plan.targets) {
            deps.putIfAbsent(target.fileId(), Dependency.beforeDone(target.fileId(),
                    target.epoll() ? Stage.OPEN : Stage.RESTORED,
                    "epoll file " + plan.epollId + " watches it at fd " + target.fd()).inSameTask());
        }
        return new ArrayList<>(deps.values());
    }

    @Override
    public FleInfo chooseMaster(List<FleInfo> fles) {
        return plan.master;
    }

    @Override
    public String toString() {
        return plan.toString();
    }
}
