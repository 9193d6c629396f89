package fdrestore.app.cli;

import fdrestore.api.image.Describe;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileKind;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
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
@Command(name = "show", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Decodes an image set and prints its process tree: every task with its pid, group and",
            "session, every fd with its number, kind, flags and a one-line description, and which fds share",
            "one open file (the master, which opens it, and the slaves, which receive it)."},
        footer = {"%nExamples:",
            "  fdrestore show images-samples/criu-4.2/a_pipe",
            "  fdrestore show --json images-samples/criu-4.2/v_unix | jq '.tasks[].fds[]'"})
public final class ShowCommand implements Callable<Integer> {
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

    /**
     * The master of each file, found once per file: {@code show} used to scan a file's sharers again for
     * each of its fds, quadratic in the fds of a widely shared file (80,000 fds took 106 s).
     */
    public static final class Masters {
        private final ImageSet images;
        private final Map<Long, FdRef> byFile = new HashMap<>();
        /** Sharers scanned so far: the total of the fds of the files asked for, when each is scanned once. */
        public long scanned;

        public Masters(ImageSet images) {
            this.images = images;
        }

        FdRef of(long fileId) {
            FdRef m = byFile.get(fileId);
            if (m == null) {
                List<FdRef> sharers = images.sharers(fileId);
                scanned += sharers.size();
                m = master(sharers);
                byFile.put(fileId, m);
            }
            return m;
        }
    }

    private static void text(ImageSet images, Map<FdType, FileKind> kinds, PrintWriter out) {
        text(images, kinds, out, new Masters(images));
    }

    public static void text(ImageSet images, Map<FdType, FileKind> kinds, PrintWriter out, Masters masters) {
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
                String desc = descriptions.computeIfAbsent(fd.fileId(), id -> FileKind.describe(kinds, images, f));
                List<FdRef> sharers = images.sharers(fd.fileId());
                String share;
                if (sharers.size() == 1) {
                    share = "file " + fd.fileId();
                } else {
                    FdRef m = masters.of(fd.fileId());
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
            FdRef m = masters.of(e.getKey());
            List<String> slaves = new ArrayList<>();
            for (FdRef r : e.getValue()) {
                if (r != m) {
                    slaves.add(r.toString());
                }
            }
            out.printf("  file %d %s: master %s; slaves %s%n", e.getKey(),
                    descriptions.getOrDefault(e.getKey(), ""), m, String.join(", ", slaves));
        }
        Map<FileKind.KernelObject, List<Long>> objects = FileKind.objects(images, kinds);
        if (!objects.isEmpty()) {
            out.printf("%nNested objects (one kernel object behind several open files):%n");
            objects.forEach((object, ids) -> out.printf("  %s: files %s%n", object, ids));
        }
    }

    static Map<String, Object> toJson(ImageSet images, Map<FdType, FileKind> kinds) {
        return toJson(images, kinds, new Masters(images));
    }

    public static Map<String, Object> toJson(ImageSet images, Map<FdType, FileKind> kinds, Masters masters) {
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
                jf.put("description", descriptions.computeIfAbsent(fd.fileId(), id -> FileKind.describe(kinds, images, f)));
                structured(images, f, kinds.get(FdType.of(f.getType())), jf);
                FdRef m = masters.of(fd.fileId());
                jf.put("shared", images.sharers(fd.fileId()).size() > 1);
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
            jf.put("description", descriptions.computeIfAbsent(e.getKey(), id -> FileKind.describe(kinds, images, e.getValue())));
            FdRef m = masters.of(e.getKey());
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
        // The schema lists kernel objects by noun: "pipes", each with its "pipeId".
        doc.put(PIPE + "s", new ArrayList<>());
        FileKind.objects(images, kinds).forEach((object, ids) -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put(object.noun() + "Id", object.id());
            p.put("files", ids);
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) doc.computeIfAbsent(object.noun() + "s", k -> new ArrayList<>());
            list.add(p);
        });
        return doc;
    }

    /**
     * The structured members of an fd (docs/fdrestore.schema.json): path, open flags, position (by its
     * kind, {@code FileKind.summary}) and pipe id (its kernel object's), each null where the kind has none.
     */
    static void structured(ImageSet images, FileEntry f, FileKind kind, Map<String, Object> jf) {
        FileKind.Summary s = kind == null ? null : kind.summary(f, images);
        Integer flags = s == null ? null : s.flags();
        jf.put("path", s == null ? null : s.path());
        jf.put("flags", flags);
        jf.put("openFlags", flags != null ? Describe.openFlags(flags) : null);
        jf.put("pos", s == null ? null : s.pos());
        FileKind.KernelObject o = kind == null ? null : kind.object(f);
        jf.put(PIPE + "Id", o != null && o.noun().equals(PIPE) ? Long.valueOf(o.id()) : null);
    }

    /** The one kernel object the schema names (its "pipes", an fd's "pipeId"). */
    private static final String PIPE = "pipe";

    private static Map<String, Object> ref(FdRef r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", r.pid());
        m.put("fd", r.fd().fd());
        return m;
    }
}
