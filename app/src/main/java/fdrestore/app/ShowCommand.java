package fdrestore.app;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fdrestore show DIR}: decodes an image set into a readable tree of tasks and fds. */
@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Decodes an image set and prints its process tree: every task with its pid, group and",
            "session, every fd with its number, kind, flags and a one-line description, and which fds share",
            "one open file (the master, which opens it, and the slaves, which receive it)."},
        footer = {"%nExamples:",
            "  fdrestore show images-samples/criu-4.2/a_pipe",
            "  fdrestore show --json images-samples/criu-4.2/v_unix | jq '.tasks[].fds[]'"})
final class ShowCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "The image directory (written by criu dump or fdrestore dump).")
    Path dir;

    @Option(names = "--json", description = "Print a JSON document instead (described in docs/IMAGES.md).")
    boolean json;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Override
    public Integer call() throws Exception {
        ImageSet images = ImageSet.open(dir);
        PrintWriter out = spec.commandLine().getOut();
        try (PluginHost host = Cli.invocation(spec).plugins(pluginFolders.dirs())) {
            Map<FdType, FileKind> kinds = FileKind.byType(host.kinds());
            if (json) {
                out.println(Json.pretty(toJson(images, kinds)));
            } else {
                text(images, kinds, out);
            }
        }
        out.flush();
        return Cli.EXIT_OK;
    }

    private static String kind(Fd fd) {
        return fd.type() != null ? fd.type().name() : "type " + fd.rawType();
    }

    /** The master of a file by CRIU's rule: lowest pid, then lowest fd. */
    static FdRef master(List<FdRef> sharers) {
        FdRef best = null;
        for (FdRef r : sharers) {
            if (best == null || r.pid() < best.pid() || r.pid() == best.pid() && r.fd().fd() < best.fd().fd()) {
                best = r;
            }
        }
        return best;
    }

    private static void text(ImageSet images, Map<FdType, FileKind> kinds, PrintWriter out) {
        int fds = 0;
        int shared = 0;
        for (Task t : images.tasks()) {
            fds += t.fds().size();
        }
        for (List<FdRef> s : images.sharers().values()) {
            if (s.size() > 1) {
                shared++;
            }
        }
        out.printf("Image set %s: %d task%s, %d fds, %d open files (%d shared by several fds), image version %d%n",
                images.dir(), images.tasks().size(), images.tasks().size() == 1 ? "" : "s", fds,
                images.sharers().size(), shared, images.inventory().getImgVersion());
        Map<Integer, Integer> depth = new HashMap<>();
        Map<Long, String> descriptions = new HashMap<>();
        for (Task t : images.tasks()) {
            int d = depth.getOrDefault(t.ppid(), -1) + 1;
            depth.put(t.pid(), d);
            String indent = "  ".repeat(d);
            List<String> roles = new ArrayList<>();
            if (t.sessionLeader()) {
                roles.add("session leader");
            } else if (t.groupLeader()) {
                roles.add("group leader");
            }
            if (t.threads().size() > 1) {
                roles.add(t.threads().size() + " threads");
            }
            out.printf("%n%stask %d%s  ppid %d  pgid %d  sid %d%s%n", indent, t.pid(),
                    t.comm() != null ? " (" + t.comm() + ")" : "", t.ppid(), t.pgid(), t.sid(),
                    roles.isEmpty() ? "" : "  [" + String.join(", ", roles) + "]");
            for (Fd fd : t.fds()) {
                FileEntry f = images.file(fd.fileId()).orElseThrow();
                String desc = descriptions.computeIfAbsent(fd.fileId(), id -> Describe.file(images, f, kinds));
                List<FdRef> sharers = images.sharers(fd.fileId());
                String share;
                if (sharers.size() == 1) {
                    share = "file " + fd.fileId();
                } else {
                    FdRef m = master(sharers);
                    share = "file " + fd.fileId() + ", " + (m.pid() == t.pid() && m.fd().fd() == fd.fd()
                            ? "master of " + (sharers.size() - 1) + " slave" + (sharers.size() == 2 ? "" : "s")
                            : "slave of " + m);
                }
                out.printf("%s  fd %4d  %-9s %s%s  [%s]%n", indent, fd.fd(), kind(fd), desc,
                        fd.cloexec() ? "  cloexec" : "", share);
            }
        }
        boolean header = false;
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            if (e.getValue().size() < 2) {
                continue;
            }
            if (!header) {
                out.printf("%nShared files (master first):%n");
                header = true;
            }
            FdRef m = master(e.getValue());
            List<String> slaves = new ArrayList<>();
            for (FdRef r : e.getValue()) {
                if (r != m) {
                    slaves.add(r.toString());
                }
            }
            out.printf("  file %d %s: master %s; slaves %s%n", e.getKey(),
                    descriptions.getOrDefault(e.getKey(), ""), m, String.join(", ", slaves));
        }
        Map<Long, List<Long>> pipes = images.pipeObjects();
        if (!pipes.isEmpty()) {
            out.printf("%nNested objects (one kernel object behind several open files):%n");
            pipes.forEach((pipeId, ids) -> out.printf("  pipe %d: files %s%n", pipeId, ids));
        }
    }

    static Map<String, Object> toJson(ImageSet images, Map<FdType, FileKind> kinds) {
        Map<String, Object> doc = Cli.document("show");
        doc.put("dir", images.dir().toString());
        doc.put("imageVersion", images.inventory().getImgVersion());
        List<Object> tasks = new ArrayList<>();
        Map<Long, String> descriptions = new HashMap<>();
        for (Task t : images.tasks()) {
            Map<String, Object> jt = new LinkedHashMap<>();
            jt.put("pid", t.pid());
            jt.put("ppid", t.ppid());
            jt.put("pgid", t.pgid());
            jt.put("sid", t.sid());
            jt.put("comm", t.comm());
            jt.put("threads", t.threads());
            jt.put("filesId", t.filesId());
            List<Object> fds = new ArrayList<>();
            for (Fd fd : t.fds()) {
                FileEntry f = images.file(fd.fileId()).orElseThrow();
                Map<String, Object> jf = new LinkedHashMap<>();
                jf.put("fd", fd.fd());
                jf.put("kind", kind(fd));
                jf.put("cloexec", fd.cloexec());
                jf.put("fileId", fd.fileId());
                jf.put("description", descriptions.computeIfAbsent(fd.fileId(), id -> Describe.file(images, f, kinds)));
                structured(images, f, jf);
                List<FdRef> sharers = images.sharers(fd.fileId());
                FdRef m = master(sharers);
                jf.put("shared", sharers.size() > 1);
                jf.put("master", m.pid() == t.pid() && m.fd().fd() == fd.fd());
                jf.put("masterPid", m.pid());
                jf.put("masterFd", m.fd().fd());
                fds.add(jf);
            }
            jt.put("fds", fds);
            tasks.add(jt);
        }
        doc.put("tasks", tasks);
        List<Object> files = new ArrayList<>();
        for (Map.Entry<Long, FileEntry> e : images.files().entrySet()) {
            List<FdRef> sharers = images.sharers(e.getKey());
            if (sharers.isEmpty()) {
                continue;
            }
            Map<String, Object> jf = new LinkedHashMap<>();
            jf.put("id", e.getKey());
            FdType type = FdType.of(e.getValue().getType());
            jf.put("kind", type != null ? type.name() : "type " + e.getValue().getType());
            jf.put("description", descriptions.computeIfAbsent(e.getKey(), id -> Describe.file(images, e.getValue(), kinds)));
            FdRef m = master(sharers);
            jf.put("master", ref(m));
            List<Object> slaves = new ArrayList<>();
            for (FdRef r : sharers) {
                if (r != m) {
                    slaves.add(ref(r));
                }
            }
            jf.put("slaves", slaves);
            files.add(jf);
        }
        doc.put("files", files);
        List<Object> pipes = new ArrayList<>();
        images.pipeObjects().forEach((pipeId, ids) -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("pipeId", pipeId);
            p.put("files", ids);
            pipes.add(p);
        });
        doc.put("pipes", pipes);
        return doc;
    }

    /**
     * The structured members of an fd (docs/fdrestore.schema.json): path, open flags, position and pipe id,
     * each null where the kind has none. A fifo's and a tty's path and flags are those of their path entry.
     */
    static void structured(ImageSet images, FileEntry f, Map<String, Object> jf) {
        fdrestore.api.image.proto.RegFileEntry reg = f.hasReg() ? f.getReg() : null;
        long regfId = f.hasFifo() && f.getFifo().hasRegfId() ? f.getFifo().getRegfId()
                : f.hasTty() && f.getTty().hasRegfId() ? f.getTty().getRegfId() : -1;
        if (reg == null && regfId >= 0) {
            reg = images.file(regfId).filter(FileEntry::hasReg).map(FileEntry::getReg).orElse(null);
        }
        Integer flags = reg != null ? Integer.valueOf(reg.getFlags())
                : f.hasPipe() ? Integer.valueOf(f.getPipe().getFlags())
                : f.hasUsk() ? Integer.valueOf(f.getUsk().getFlags())
                : f.hasIsk() ? Integer.valueOf(f.getIsk().getFlags())
                : f.hasTty() ? Integer.valueOf(f.getTty().getFlags())
                : f.hasEpfd() ? Integer.valueOf(f.getEpfd().getFlags())
                : f.hasEfd() ? Integer.valueOf(f.getEfd().getFlags())
                : f.hasTfd() ? Integer.valueOf(f.getTfd().getFlags()) : null;
        String path = reg != null ? reg.getName()
                : f.hasUsk() && !f.getUsk().getName().isEmpty() ? Describe.sockName(f.getUsk().getName().toByteArray()) : null;
        jf.put("path", path);
        jf.put("flags", flags);
        jf.put("openFlags", flags != null ? Describe.openFlags(flags) : null);
        jf.put("pos", reg != null && !f.hasFifo() && !f.hasTty() ? Long.valueOf(reg.getPos()) : null);
        jf.put("pipeId", f.hasPipe() ? Long.valueOf(Integer.toUnsignedLong(f.getPipe().getPipeId()))
                : f.hasFifo() ? Long.valueOf(Integer.toUnsignedLong(f.getFifo().getPipeId())) : null);
    }

    private static Map<String, Object> ref(FdRef r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", r.pid());
        m.put("fd", r.fd().fd());
        return m;
    }
}
