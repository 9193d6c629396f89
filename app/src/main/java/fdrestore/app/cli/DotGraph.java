package fdrestore.app.cli;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.FileKind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DOT text of an image set, derived from the images and what each kind draws of its files:
 * <ul>
 * <li>one cluster per session, holding one cluster per task (its pid, comm, group), holding the task's
 *     node ({@code class="task"}) and one node per fd ({@code class="fd"});</li>
 * <li>{@code parent} edges from each task to its children;</li>
 * <li>{@code shared} edges from the master fd of an open file to each of its slaves;</li>
 * <li>nested objects ({@code FileKind.object}): one {@code class="object"} node per kernel object behind
 *     several files (a pipe id) with a {@code nested} edge to the master fd of each file on it; a
 *     {@code peer} edge between the master fds of two files that are each other's peer
 *     ({@code FileKind.graphEdges}: two connected unix sockets);</li>
 * <li>{@code dep} edges for restore dependencies ({@code FileKind.graphEdges}: a tty slave to its master,
 *     an epoll to each target, a unix socket to the peer it connects to);</li>
 * <li>the links a kind draws to a task or a named object ({@code FileKind.graphLinks}).</li>
 * </ul>
 * Node ids are quoted and stable: {@code t<pid>}, {@code t<pid>_fd<n>}, {@code <noun>_<id>} (pipe_7).
 */
public final class DotGraph {
    private final ImageSet images;
    private final StringBuilder sb = new StringBuilder();

    private final Map<FdType, FileKind> kinds;

    DotGraph(ImageSet images) {
        this(images, Map.of());
    }

    DotGraph(ImageSet images, Map<FdType, FileKind> kinds) {
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
                        label += "\n" + shorten(descriptions.computeIfAbsent(fd.fileId(), id -> FileKind.describe(kinds, images, f)));
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
            FileKind k = kinds.get(FdType.of(e.getValue().getType()));
            if (m == null || k == null) {
                continue;
            }
            List<FileKind.GraphLink> links;
            try {
                links = k.graphLinks(e.getValue(), images);
            } catch (RuntimeException ex) {
                continue;   // a kind that cannot read its entry draws nothing; show reports it
            }
            for (FileKind.GraphLink l : links) {
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

    /** The kernel objects behind several files (FileKind.object), each with an edge to its files' masters. */
    private void nested(Map<Long, FdRef> masters) {
        for (Map.Entry<FileKind.KernelObject, List<Long>> p : FileKind.objects(images, kinds).entrySet()) {
            List<FdRef> ends = new ArrayList<>();
            for (long id : p.getValue()) {
                if (masters.containsKey(id)) {
                    ends.add(masters.get(id));
                }
            }
            if (ends.isEmpty()) {
                continue;
            }
            String obj = p.getKey().noun() + "_" + p.getKey().id();
            line(1, q(obj) + " [class=\"object\", shape=ellipse, style=filled, fillcolor=lightblue, label="
                    + q(p.getKey().toString()) + "];");
            for (FdRef r : ends) {
                line(1, q(obj) + " -> " + q(fdId(r)) + " [class=\"nested\", dir=none, style=dashed, color=steelblue];");
            }
        }
        edges(masters, true);
    }

    /** Restore dependencies: each file to the files it is restored after (FileKind.graphEdges). */
    private void dependencies(Map<Long, FdRef> masters) {
        edges(masters, false);
    }

    /** The peer edges, or the dependency edges, that the kinds give between files, in files.img order. */
    private void edges(Map<Long, FdRef> masters, boolean peers) {
        for (FileEntry f : images.files().values()) {
            FileKind k = kinds.get(FdType.of(f.getType()));
            FdRef from = masters.get(Integer.toUnsignedLong(f.getId()));
            if (k == null || from == null) {
                continue;
            }
            List<FileKind.FileEdge> edges;
            try {
                edges = k.graphEdges(f, images);
            } catch (RuntimeException ex) {
                continue;   // a kind that cannot read its entry draws nothing; show reports it
            }
            for (FileKind.FileEdge e : edges) {
                if (e.peer() != peers) {
                    continue;
                }
                FdRef to = e.fileId() >= 0 ? masters.get(e.fileId()) : fdOf(from.pid(), e.fd());
                if (to == null) {
                    continue;
                }
                if (peers) {
                    line(1, q(fdId(from)) + " -> " + q(fdId(to)) + " [class=\"peer\", dir=both, color=darkgreen, label="
                            + q(e.label()) + "];");
                } else {
                    dep(from, to, e.label());
                }
            }
        }
    }

    /** Fd {@code fd} of task {@code pid}, or null when it has none. */
    private FdRef fdOf(int pid, int fd) {
        return images.task(pid).flatMap(t -> t.fds().stream().filter(x -> x.fd() == fd).findFirst())
                .map(x -> new FdRef(pid, x)).orElse(null);
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
