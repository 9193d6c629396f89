package fdrestore.plugin.eventpoll;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one epoll needs, decided from the images before any syscall.
 *
 * <p><b>Targets.</b> A target ({@code EventpollTfdEntry}) names the watched file only by its fd number
 * ({@code tfd}) in the table of the task that dumped the epoll: criu 4.x writes them inline with
 * {@code id} 0, older criu wrote them to eventpoll-tfd.img with {@code id} = the epoll's id. criu dumps a
 * file from the first task of pstree.img that holds it, so that task's fd {@code tfd} gives the target's
 * file id. For a pipe or fifo the recorded inode must be the pipe's id.
 *
 * <p><b>Master.</b> A target must live in the table of the task that adds it (registrations are keyed by
 * fd number in that table). The master is the first slot, in the engine's order, whose task holds every
 * target (criu issue #1366: a child that shares the epoll but closed its targets must not restore it).
 * No such task is a plan error that names the missing targets.
 *
 * <p><b>Numbers.</b> In the master's task a target is added at the image's {@code tfd} number when the
 * task holds the target there, else at its lowest fd for that file (fds land at their image numbers).
 */
final class EpollPlan {
    /** One registration: the target's file, its fd in the master's table, the event mask and data. */
    record Target(long fileId, int fd, int imageTfd, int events, long data, boolean epoll, int firstFd) {
        @Override
        public String toString() {
            return "target fd " + fd + " (file " + fileId + ")";
        }
    }

    final long epollId;
    final int flags;
    final FleInfo master;
    final List<Target> targets;

    private EpollPlan(long epollId, int flags, FleInfo master, List<Target> targets) {
        this.epollId = epollId;
        this.flags = flags;
        this.master = master;
        this.targets = List.copyOf(targets);
    }

    /** A target as the images name it: the target's file id in the dumping task, and the entry. */
    private record Named(long fileId, EventpollTfdEntry entry, boolean epoll) {
    }

    static EpollPlan of(FileInfo file, ImageSet images) throws PlanException {
        FileEntry fe = file.entry();
        if (!fe.hasEpfd()) {
            throw new PlanException("epoll file " + file.id() + ": files.img has no eventpoll entry for it");
        }
        EventpollFileEntry ep = fe.getEpfd();
        long id = file.id();
        List<EventpollTfdEntry> tfds = new ArrayList<>(ep.getTfdList());
        try {
            for (EventpollTfdEntry t : images.entries(Magic.EVENTPOLL_TFD, EventpollTfdEntry.class)) {
                if (Integer.toUnsignedLong(t.getId()) == id) {
                    tfds.add(t); // legacy eventpoll-tfd.img: id is the epoll's
                }
            }
        } catch (IOException e) {
            throw new PlanException("epoll file " + id + ": cannot read " + Magic.EVENTPOLL_TFD.fileName() + ": "
                    + e.getMessage(), e);
        }

        ImageSet.Task dumper = null;
        for (ImageSet.Task t : images.tasks()) {
            if (t.fds().stream().anyMatch(f -> f.fileId() == id)) {
                dumper = t;
                break;
            }
        }
        if (dumper == null) {
            throw new PlanException("epoll file " + id + ": no task holds it");
        }

        List<String> problems = new ArrayList<>();
        List<Named> named = new ArrayList<>();
        for (EventpollTfdEntry t : tfds) {
            String what = "target fd " + t.getTfd() + " (events 0x" + Integer.toHexString(t.getEvents()) + ", data 0x"
                    + Long.toHexString(t.getData()) + ")";
            Optional<ImageSet.Fd> fd = dumper.fds().stream().filter(f -> f.fd() == t.getTfd()).findFirst();
            if (fd.isEmpty()) {
                problems.add(what + " is not open in task " + dumper.pid() + ", which dumped the epoll");
                continue;
            }
            long target = fd.get().fileId();
            if (target == id) {
                problems.add(what + " is the epoll itself");
                continue;
            }
            FileEntry tf = images.file(target).orElse(null);
            if (tf != null && t.hasInode() && t.getInode() != 0) {
                Long pipeId = null;
                if (tf.hasPipe()) {
                    pipeId = Integer.toUnsignedLong(tf.getPipe().getPipeId());
                } else if (tf.hasFifo()) {
                    pipeId = Integer.toUnsignedLong(tf.getFifo().getPipeId());
                }
                if (pipeId != null && pipeId.longValue() != t.getInode()) {
                    problems.add(what + ": fd " + t.getTfd() + " of task " + dumper.pid() + " is pipe " + pipeId
                            + ", but the image names inode " + t.getInode());
                    continue;
                }
            }
            named.add(new Named(target, t, fd.get().type() == FdType.EVENTPOLL));
        }
        if (!problems.isEmpty()) {
            throw new PlanException("epoll file " + id + ": " + String.join("; ", problems));
        }

        // The master: the first slot whose task holds every target.
        FleInfo master = null;
        List<String> lacking = new ArrayList<>();
        Map<Integer, Boolean> seen = new HashMap<>();
        for (FleInfo fle : file.fles()) {
            if (seen.putIfAbsent(fle.pid(), Boolean.TRUE) != null) {
                continue;
            }
            ImageSet.Task task = images.task(fle.pid()).orElseThrow(
                    () -> new PlanException("epoll file " + id + ": task " + fle.pid() + " is not in pstree"));
            List<String> missing = new ArrayList<>();
            for (Named n : named) {
                if (task.fds().stream().noneMatch(f -> f.fileId() == n.fileId)) {
                    missing.add("file " + n.fileId + " (fd " + n.entry.getTfd() + " in task " + dumper.pid() + ")");
                }
            }
            if (missing.isEmpty()) {
                master = fle;
                break;
            }
            lacking.add("task " + fle.pid() + " lacks " + String.join(", ", missing));
        }
        if (master == null) {
            throw new PlanException("epoll file " + id + ": no task that holds the epoll holds all of its targets, "
                    + "and a target must be in the table of the task that adds it: " + String.join("; ", lacking));
        }

        ImageSet.Task mt = images.task(master.pid()).orElseThrow();
        List<Target> targets = new ArrayList<>();
        Map<Integer, Target> byFd = new LinkedHashMap<>();
        for (Named n : named) {
            int first = -1;
            int at = -1;
            for (ImageSet.Fd f : mt.fds()) {
                if (f.fileId() == n.fileId) {
                    if (first < 0 || f.fd() < first) {
                        first = f.fd();
                    }
                    if (f.fd() == n.entry.getTfd()) {
                        at = f.fd();
                    }
                }
            }
            int fd = at >= 0 ? at : first;
            Target t = new Target(n.fileId, fd, n.entry.getTfd(), n.entry.getEvents(), n.entry.getData(), n.epoll, first);
            Target prev = byFd.putIfAbsent(fd, t);
            if (prev != null) {
                throw new PlanException("epoll file " + id + ": targets fd " + prev.imageTfd() + " and fd "
                        + t.imageTfd() + " of task " + dumper.pid() + " would both be fd " + fd + " of task "
                        + master.pid() + ", which holds file " + n.fileId + " only once");
            }
            targets.add(t);
        }
        return new EpollPlan(id, ep.getFlags(), master, targets);
    }

    @Override
    public String toString() {
        return "epoll file " + epollId + " (master " + master + ", targets " + targets + ")";
    }
}
