package fdrestore.app.cli;

import fdrestore.api.image.Describe;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DOT text of an image set, derived from the images alone (no plugin):
 * <ul>
 * <li>one cluster per session, holding one cluster per task (its pid, comm, group), holding the task's
 *     node ({@code class="task"}) and one node per fd ({@code class="fd"});</li>
 * <li>{@code parent} edges from each task to its children;</li>
 * <li>{@code shared} edges from the master fd of an open file to each of its slaves;</li>
 * <li>nested objects: one {@code class="object"} node per pipe id with a {@code nested} edge to the master
 *     fd of each file on it; a {@code peer} edge between the master fds of two unix sockets that are each
 *     other's peer;</li>
 * <li>{@code dep} edges for restore dependencies: tty slave -> its master, epoll -> each target, a unix
 *     socket -> the peer it connects to (one-way peers).</li>
 * </ul>
 * Node ids are quoted and stable: {@code t<pid>}, {@code t<pid>_fd<n>}, {@code pipe_<id>}.
 */
public final class DotGraph {
    private final ImageSet images;
    private final StringBuilder sb = new StringBuilder();

    private final Map<fdrestore.api.image.FdType, fdrestore.api.spi.FileKind> kinds;

    DotGraph(ImageSet images) {
        this(images, Map.of());
    }

    DotGraph(ImageSet images, Map<fdrestore.api.image.FdType, fdrestore.api.spi.FileKind> kinds) {
        this.kinds = kinds;
        this.images = images;
    }

    static String taskId(int pid) {
        return "t" + pid;
    }

    static String fdId(int pid, int fd) {
        return "t" + pid + "_fd" + fd;
    }

    static String fdId(FdRef r) {
        return fdId(r.pid(), r.fd().fd());
    }

    /** DOT string literal. */
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> b.append(c < 0x20 ? ' ' : c);
            }
        }
        return b.append('"').toString();
    }

    String toDot() {
        Map<Long, FdRef> masters = new HashMap<>();
        images.sharers().forEach((id, refs) -> {
            if (!refs.isEmpty()) {
                masters.put(id, ShowCommand.master(refs));
            }
        });
        Map<Long, String> descriptions = new HashMap<>();
        sb.append("digraph fdrestore {\n");
        line(1, "graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, labelloc=t, label="
                + q("fdrestore graph of " + images.dir()) + "];");
        line(1, "node [fontname=\"Helvetica\", fontsize=10];");
        line(1, "edge [fontname=\"Helvetica\", fontsize=9];");

        Map<Integer, List<Task>> bySession = new LinkedHashMap<>();
        for (Task t : images.tasks()) {
            bySession.computeIfAbsent(t.sid(), k -> new ArrayList<>()).add(t);
        }
        for (Map.Entry<Integer, List<Task>> s : bySession.entrySet()) {
            line(1, "subgraph " + q("cluster_session_" + s.getKey()) + " {");
            line(2, "label=" + q("session " + s.getKey()) + "; style=rounded; color=gray40;");
            for (Task t : s.getValue()) {
                line(2, "subgraph " + q("cluster_task_" + t.pid()) + " {");
                line(3, "label=\"\"; style=filled; fillcolor=gray96; color=gray70;");
                String role = t.sessionLeader() ? "\nsession leader" : t.groupLeader() ? "\ngroup leader" : "";
                line(3, q(taskId(t.pid())) + " [class=\"task\", shape=box, style=\"filled,bold\", fillcolor=lightyellow, label="
                        + q("task " + t.pid() + (t.comm() != null ? " (" + t.comm() + ")" : "") + "\npgid " + t.pgid()
                        + "  sid " + t.sid() + role) + "];");
                for (Fd fd : t.fds()) {
                    FdRef m = masters.get(fd.fileId());
                    boolean master = m != null && m.pid() == t.pid() && m.fd().fd() == fd.fd();
                    String kind = fd.type() != null ? fd.type().name() : "type " + fd.rawType();
                    String label = "fd " + fd.fd() + "  " + kind + (fd.cloexec() ? "  cloexec" : "");
                    if (master) {
                        FileEntry f = images.file(fd.fileId()).orElseThrow();
                        label += "\n" + shorten(descriptions.computeIfAbsent(fd.fileId(), id -> Describe.file(images, f, kinds)));
                    }
                    line(3, q(fdId(t.pid(), fd.fd())) + " [class=\"fd\", shape=box, style=\"rounded,filled\", fillcolor="
                            + (master ? "white" : "gray90") + ", label=" + q(label) + "];");
                    line(3, q(taskId(t.pid())) + " -> " + q(fdId(t.pid(), fd.fd())) + " [class=\"has\", style=invis];");
                }
                line(2, "}");
            }
            line(1, "}");
        }
        for (Task t : images.tasks()) {
            if (images.task(t.ppid()).isPresent()) {
                line(1, q(taskId(t.ppid())) + " -> " + q(taskId(t.pid())) + " [class=\"parent\", color=gray40, penwidth=2];");
            }
        }
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            FdRef m = masters.get(e.getKey());
            for (FdRef r : e.getValue()) {
                if (r != m) {
                    line(1, q(fdId(m)) + " -> " + q(fdId(r)) + " [class=\"shared\", color=blue, label=" + q("file " + e.getKey())
                            + "];");
                }
            }
        }
        nested(masters);
        dependencies(masters);
        kindLinks(masters);
        sb.append("}\n");
        return sb.toString();
    }

    /** The links each kind's plugin draws from its files (FileKind.graphLinks): to a task, or to an object. */
    private void kindLinks(Map<Long, FdRef> masters) {
        int objects = 0;
        for (Map.Entry<Long, FileEntry> e : images.files().entrySet()) {
            FdRef m = masters.get(e.getKey());
            fdrestore.api.spi.FileKind k = kinds.get(fdrestore.api.image.FdType.of(e.getValue().getType()));
            if (m == null || k == null) {
                continue;
            }
            List<fdrestore.api.spi.FileKind.GraphLink> links;
            try {
                links = k.graphLinks(e.getValue(), images);
            } catch (RuntimeException ex) {
                continue;   // a kind that cannot read its entry draws nothing; show reports it
            }
            for (fdrestore.api.spi.FileKind.GraphLink l : links) {
                String to;
                if (l.taskPid() > 0 && images.task(l.taskPid()).isPresent()) {
                    to = taskId(l.taskPid());
                } else {
                    to = "object_" + k.name() + "_" + (++objects);
                    line(1, q(to) + " [class=\"object\", shape=ellipse, style=filled, fillcolor=lightblue, label="
                            + q(l.object() != null ? l.object() : "?") + "];");
                }
                line(1, q(fdId(m)) + " -> " + q(to) + " [class=" + q(k.name()) + ", style=dashed, color=purple, label="
                        + q(l.label()) + "];");
            }
        }
    }

    private void nested(Map<Long, FdRef> masters) {
        for (Map.Entry<Long, List<Long>> p : images.pipeObjects().entrySet()) {
            List<FdRef> ends = new ArrayList<>();
            for (long id : p.getValue()) {
                if (masters.containsKey(id)) {
                    ends.add(masters.get(id));
                }
            }
            if (ends.isEmpty()) {
                continue;
            }
            String obj = "pipe_" + p.getKey();
            line(1, q(obj) + " [class=\"object\", shape=ellipse, style=filled, fillcolor=lightblue, label="
                    + q("pipe " + p.getKey()) + "];");
            for (FdRef r : ends) {
                line(1, q(obj) + " -> " + q(fdId(r)) + " [class=\"nested\", dir=none, style=dashed, color=steelblue];");
            }
        }
        Map<Long, FileEntry> byIno = images.unixSocketsByInode();
        for (FileEntry f : images.files().values()) {
            if (!f.hasUsk() || f.getUsk().getPeer() == 0) {
                continue;
            }
            UnixSkEntry u = f.getUsk();
            FileEntry peer = byIno.get(Integer.toUnsignedLong(u.getPeer()));
            long id = Integer.toUnsignedLong(f.getId());
            if (peer == null || !masters.containsKey(id)) {
                continue;
            }
            long peerId = Integer.toUnsignedLong(peer.getId());
            boolean mutual = peer.getUsk().getPeer() == u.getIno();
            if (mutual && masters.containsKey(peerId) && Integer.compareUnsigned(u.getIno(), peer.getUsk().getIno()) < 0) {
                line(1, q(fdId(masters.get(id))) + " -> " + q(fdId(masters.get(peerId)))
                        + " [class=\"peer\", dir=both, color=darkgreen, label=\"peer\"];");
            }
        }
    }

    private void dependencies(Map<Long, FdRef> masters) {
        // tty: a pty slave is opened after its master (same index)
        Map<Integer, TtyInfoEntry> infos = new HashMap<>();
        try {
            for (TtyInfoEntry t : images.entries(Magic.TTY_INFO, TtyInfoEntry.class)) {
                infos.put(t.getId(), t);
            }
        } catch (IOException | RuntimeException e) {
            // no tty-info image: no tty dependencies to draw
        }
        Map<Integer, Long> ptyMasters = new HashMap<>();
        Map<Long, Integer> ptySlaves = new LinkedHashMap<>();
        for (FileEntry f : images.files().values()) {
            if (!f.hasTty()) {
                continue;
            }
            TtyInfoEntry info = infos.get(f.getTty().getTtyInfoId());
            if (info == null || !info.hasPty()) {
                continue;
            }
            boolean isMaster = ((info.getRdev() >>> 8) & 0xfff) == 5 && (info.getRdev() & 0xff) == 2;
            long id = Integer.toUnsignedLong(f.getId());
            if (isMaster) {
                ptyMasters.put(info.getPty().getIndex(), id);
            } else {
                ptySlaves.put(id, info.getPty().getIndex());
            }
        }
        ptySlaves.forEach((slave, index) -> {
            Long master = ptyMasters.get(index);
            if (master != null && masters.containsKey(slave) && masters.containsKey(master)) {
                dep(masters.get(slave), masters.get(master), "tty");
            }
        });
        // epoll: targets first (registrations are by fd number in the epoll's own task)
        for (FileEntry f : images.files().values()) {
            long id = Integer.toUnsignedLong(f.getId());
            if (!f.hasEpfd() || !masters.containsKey(id)) {
                continue;
            }
            FdRef ep = masters.get(id);
            for (EventpollTfdEntry tfd : f.getEpfd().getTfdList()) {
                int target = tfd.getTfd();
                boolean present = images.task(ep.pid()).map(t -> t.fds().stream().anyMatch(x -> x.fd() == target))
                        .orElse(false);
                if (present) {
                    dep(ep, new FdRef(ep.pid(), findFd(ep.pid(), target)), "epoll");
                }
            }
        }
        // unix connect: a one-way peer is connected to after it is bound
        Map<Long, FileEntry> byIno = images.unixSocketsByInode();
        for (FileEntry f : images.files().values()) {
            if (!f.hasUsk() || f.getUsk().getPeer() == 0) {
                continue;
            }
            FileEntry peer = byIno.get(Integer.toUnsignedLong(f.getUsk().getPeer()));
            long id = Integer.toUnsignedLong(f.getId());
            if (peer == null || peer.getUsk().getPeer() == f.getUsk().getIno()) {
                continue;
            }
            long peerId = Integer.toUnsignedLong(peer.getId());
            if (masters.containsKey(id) && masters.containsKey(peerId)) {
                dep(masters.get(id), masters.get(peerId), "connect");
            }
        }
    }

    private Fd findFd(int pid, int fd) {
        return images.task(pid).orElseThrow().fds().stream().filter(x -> x.fd() == fd).findFirst().orElseThrow();
    }

    private void dep(FdRef from, FdRef to, String what) {
        line(1, q(fdId(from)) + " -> " + q(fdId(to)) + " [class=\"dep\", color=red, style=dashed, label=" + q(what) + "];");
    }

    private static String shorten(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private void line(int indent, String s) {
        sb.append("  ".repeat(indent)).append(s).append('\n');
    }
}
