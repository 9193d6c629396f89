package fdrestore.core.restore;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Fd;
import fdrestore.api.image.ImageSet.FdRef;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Plans a restore before any syscall: every file of the images with the plugin of its kind (or taken from
 * the caller with {@code --inherit-fd}), the files that exist only in flight, and what each task must do
 * as it becomes a process. Every problem is reported at once, naming the task and the fd.
 */
public final class Planner {
    private final ImageSet images;
    private final Map<FdType, FileKind> kinds;
    private final Restorer.Options options;
    private final InheritFds inherit;
    private final TaskLaunches launches;
    private final PlanContext planContext;
    /** Files that exist only in flight, by id, with their slot ({@link FileKind#inFlight}); set by plan(). */
    private final Map<Long, FleInfo> inFlight = new ConcurrentHashMap<>();

    /**
     * @param kinds   the kinds of the loaded plugins by fd type ({@link #byType})
     * @param inherit the caller's fds that stand for files of the images ({@code --inherit-fd})
     */
    public Planner(ImageSet images, Map<FdType, FileKind> kinds, Restorer.Options options, InheritFds inherit) {
        this(images, kinds, options, inherit, new TaskLaunches(images, options));
    }

    Planner(ImageSet images, Map<FdType, FileKind> kinds, Restorer.Options options, InheritFds inherit,
            TaskLaunches launches) {
        this.images = images;
        this.kinds = kinds;
        this.options = options;
        this.inherit = inherit == null ? InheritFds.none() : inherit;
        this.launches = launches;
        this.planContext = new PlanContext() {
            @Override
            public ImageSet images() {
                return images;
            }

            @Override
            public Path root() {
                return options.root();
            }

            @Override
            public String option(String name) {
                return options.pluginOptions().get(name);
            }

            @Override
            public FleInfo inFlight(long fileId) {
                return inFlight.get(fileId);
            }

            private final PlanContext.Memo memo = new PlanContext.Memo();

            @Override
            public <T> T memo(Object key, java.util.function.Supplier<T> make) {
                return memo.get(key, make);
            }
        };
    }

    /** Maps fd types to kinds; two kinds claiming one type is an error. */
    public static Map<FdType, FileKind> byType(Collection<? extends FileKind> kinds) throws RestoreException {
        Map<FdType, FileKind> m = new EnumMap<>(FdType.class);
        for (FileKind k : kinds) {
            for (FdType t : k.fdTypes()) {
                FileKind prev = m.putIfAbsent(t, k);
                if (prev != null && prev != k) {
                    throw new RestoreException("two plugins claim fd type " + t + ": '" + prev.name() + "' ("
                            + prev.getClass().getName() + ") and '" + k.name() + "' (" + k.getClass().getName() + ")");
                }
            }
        }
        return m;
    }

    /**
     * Refuses, before anything starts, the files that only a mapping can restore and have none: one line
     * per fd, naming the task, the fd and the resource.
     */
    void checkExternal() throws RestoreException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            String why = inherit.unmapped(images.file(e.getKey()).orElseThrow(), images, kinds);
            if (why != null) {
                for (FdRef r : e.getValue()) {
                    problems.add("task " + r.pid() + " fd " + r.fd().fd() + ": " + why);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new RestoreException(String.join("\n", problems));
        }
    }

    /** Plans every file; reports every missing kind and every plan problem together. No syscall. */
    public RestorePlan plan() throws RestoreException {
        List<RestorePlan.Planned> out = new ArrayList<>();
        Map<Integer, List<ProcessAction>> processActions = new HashMap<>();
        Map<String, List<String>> missing = new TreeMap<>();
        List<Exception> planFailures = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        PlanContext ctx = planContext;
        for (Task t : images.tasks()) {
            int owner = launches.tableOwner(t);
            Task parent = images.task(t.ppid()).orElse(null);
            if (owner != t.pid() && (parent == null || parent.filesId() != t.filesId())) {
                problems.add("task " + t.pid() + " shares one fd table (files_id " + t.filesId() + ", CLONE_FILES) with task "
                        + owner + " but not with its parent: only a table shared with the parent can be recreated");
            }
            String lost = launches.missingCwd(t);
            if (lost != null && !options.launch().cwdFallback()) {
                problems.add("task " + t.pid() + ": its cwd " + lost + " is missing under " + options.root()
                        + " (--cwd-fallback starts such a task in the root instead)");
            }
        }
        for (FileKind k : new LinkedHashSet<>(kinds.values())) {
            try {
                for (Map.Entry<Long, Integer> w : k.inFlight(images).entrySet()) {
                    FleInfo prev = inFlight.putIfAbsent(w.getKey(), FleInfo.inFlight(w.getValue()));
                    if (images.sharers().containsKey(w.getKey())) {
                        problems.add(k.name() + ": file " + w.getKey() + " has fds, it is not only in flight");
                    } else if (prev != null && prev.pid() != w.getValue()) {
                        problems.add("file " + w.getKey() + " exists only in flight and is needed by tasks "
                                + prev.pid() + " and " + w.getValue() + ": not supported");
                    }
                }
            } catch (PlanException | RuntimeException ex) {
                problems.add(k.name() + ": " + ex.getMessage());
            }
        }
        for (Map.Entry<Long, FleInfo> w : inFlight.entrySet()) {
            FileEntry entry = images.file(w.getKey()).orElse(null);
            FdType type = entry == null ? null : FdType.of(entry.getType());
            FileKind kind = type == null ? null : kinds.get(type);
            String what = w.getValue() + ": file " + w.getKey() + ", passed in flight";
            if (entry == null) {
                problems.add(what + ", is not in files.img");
            } else if (kind == null) {
                missing.computeIfAbsent(type == null ? "fd type " + entry.getType() : type.name(),
                        x -> new ArrayList<>()).add(what);
            } else {
                FileInfo info = new FileInfo(w.getKey(), type, entry, List.of(w.getValue()));
                try {
                    out.add(new RestorePlan.Planned(info, kind, kind.plan(info, ctx)));
                } catch (PlanException | RuntimeException ex) {
                    problems.add(what + " (" + kind.name() + "): " + ex.getMessage());
                }
            }
        }
        for (Map.Entry<Long, List<FdRef>> e : images.sharers().entrySet()) {
            FileEntry entry = images.file(e.getKey()).orElseThrow();
            List<FleInfo> fles = new ArrayList<>();
            for (FdRef r : e.getValue()) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            Fd first = e.getValue().get(0).fd();
            FdType type = first.type();
            Integer inherited = type == null ? null : inherit.fdFor(entry, images, kinds);
            if (inherited != null) {
                String key = InheritFds.key(entry, images, kinds).orElseThrow();
                out.add(new RestorePlan.Planned(new FileInfo(e.getKey(), type, entry, fles), null, InheritFds.restorer(inherited, key)));
                continue;
            }
            FileKind kind = type == null ? null : kinds.get(type);
            if (kind == null) {
                String k = type == null ? "fd type " + first.rawType() : type.name();
                List<String> users = missing.computeIfAbsent(k, x -> new ArrayList<>());
                for (FleInfo f : fles) {
                    users.add(f.toString());
                }
                continue;
            }
            FileInfo info = new FileInfo(e.getKey(), type, entry, fles);
            try {
                out.add(new RestorePlan.Planned(info, kind, kind.plan(info, ctx)));
            } catch (PlanException | RuntimeException ex) {
                problems.add(fles.get(0) + " (" + kind.name() + " file " + e.getKey() + "): " + ex.getMessage());
                planFailures.add(ex);
            }
        }
        for (Task t : images.tasks()) {
            List<ProcessAction> actions = new ArrayList<>();
            for (FileKind k : new LinkedHashSet<>(kinds.values())) {
                try {
                    actions.addAll(k.processActions(t, ctx));
                } catch (PlanException | RuntimeException ex) {
                    problems.add("task " + t.pid() + " (" + k.name() + "): " + ex.getMessage());
                }
            }
            processActions.put(t.pid(), actions);
        }
        missing.forEach((k, users) -> problems.add(0, "no plugin restores " + k + " (used by "
                + (users.size() > 6 ? String.join(", ", users.subList(0, 6)) + " and " + (users.size() - 6) + " more"
                : String.join(", ", users)) + ")"));
        if (!problems.isEmpty()) {
            ImageFormatException bad = imageFormatCause(problems, planFailures);
            if (bad != null) {
                // one bad image behind every problem (issue 23 item 6: payloads over the budget): one line
                throw new RestoreException(problems.get(0) + (problems.size() == 1 ? ""
                        : " (and " + (problems.size() - 1) + " more files that read it)"), bad);
            }
            throw new RestoreException(problems.size() == 1 ? problems.get(0)
                    : problems.size() + " problems stop the restore:\n  - " + String.join("\n  - ", problems));
        }
        return new RestorePlan(out, processActions, launches);
    }

    /**
     * The image format error behind every plan problem, when each of them is one (the same image refused
     * for every file that reads it), else null.
     */
    private static ImageFormatException imageFormatCause(List<String> problems, List<Exception> failures) {
        if (failures.size() != problems.size()) {
            return null;
        }
        ImageFormatException first = null;
        for (Exception f : failures) {
            ImageFormatException found = null;
            for (Throwable c = f; c != null && found == null; c = c.getCause()) {
                if (c instanceof ImageFormatException i) {
                    found = i;
                }
            }
            if (found == null || first != null && !first.getMessage().equals(found.getMessage())) {
                return null;
            }
            first = found;
        }
        return first;
    }
}
