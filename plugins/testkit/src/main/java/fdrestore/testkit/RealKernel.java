package fdrestore.testkit;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.dump.LocalDumpContext;
import fdrestore.core.engine.Engine;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.transport.ScmTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Restores image sets on the real kernel, the way the engine restores them, for a plugin's integration
 * tests: each task of the images gets a private fd table of its own (an executor thread that unshared
 * its fd table, as {@code restore} makes before each task becomes a process), the real SCM_RIGHTS
 * transport carries fds between them, and the files of the given kinds are planned with a
 * {@link TestPlanContext} and opened by the engine. Then the test reads the tables back:
 * {@link #snapshot()} in {@link FdSnapshot}'s form (kcmp sharing as labels, flags, positions),
 * {@link #fdinfo}, {@link #sameFile}, or the task's {@link #table} itself.
 *
 * <pre>
 * try (RealKernel k = RealKernel.open()) {
 *     k.restore(ImageSet.open(dir), new MyKind());
 *     assertTrue(k.fdinfo(1, 4).contains("flags:\t02"));
 * }
 * </pre>
 *
 * <p>Every restore checks that no task holds a temporary fd; {@link #close()} ends every table (closing
 * all their fds and whatever is in flight in their sockets) and the transport, and checks that the JVM's
 * own table gained nothing. Files of types no given kind restores are left out, and so are their fds.
 */
public final class RealKernel implements AutoCloseable {
    private final TaskRuntime runtime = new TaskRuntime();
    private final ScmTransport transport;
    private final Map<Integer, ExecutorTaskTable> tables = new LinkedHashMap<>();
    /** The fds each task holds because the images say so, by image pid. */
    private final Map<Integer, Set<Integer>> restored = new LinkedHashMap<>();
    private Path root = Path.of("/");
    /** The JVM's table when the harness opened; the transport keeps sockets of its own there until close. */
    private final Map<Integer, String> jvm;

    private RealKernel() throws IOException {
        jvm = Sys.fdTargets();
        transport = ScmTransport.create();
    }

    /**
     * A harness with no task yet. The JVM's fds open now are the ones {@link #close()} expects to find
     * again: open the fds the test itself keeps (the live files a dump test reads) before.
     */
    public static RealKernel open() throws IOException {
        return new RealKernel();
    }

    /** Restores the files of {@code kinds} in {@code images} under root "/" with no option set. */
    public RealKernel restore(ImageSet images, FileKind... kinds) throws PlanException, RestoreException, IOException {
        return restore(TestPlanContext.of(images), kinds);
    }

    /**
     * Restores the files of {@code kinds} in {@code ctx.images()}, planned with {@code ctx} (its root and
     * options reach the engine too), into one new table per task of the images. A task pid may be restored
     * once per harness. On failure the planned restorers are aborted, as {@code restore} does, and the
     * error is thrown; the tables stay for the test to look at until {@link #close()}.
     */
    public RealKernel restore(TestPlanContext ctx, FileKind... kinds) throws PlanException, RestoreException, IOException {
        ImageSet images = ctx.images();
        int maxFd = 0;
        for (ImageSet.Task t : images.tasks()) {
            if (tables.containsKey(t.pid())) {
                throw new IllegalStateException("task " + t.pid() + " is restored already in this harness");
            }
            for (ImageSet.Fd f : t.fds()) {
                maxFd = Math.max(maxFd, f.fd());
            }
        }
        List<PlannedFile> files = plan(images, ctx, List.of(kinds));
        root = ctx.root();
        Engine.Builder b = Engine.builder(transport).root(root);
        ctx.options().forEach(b::option);
        for (ImageSet.Task t : images.tasks()) {
            ExecutorTaskTable table = runtime.start(t.pid(), Math.max(200, maxFd + 64));
            tables.put(t.pid(), table);
            restored.put(t.pid(), new HashSet<>());
            b.table(table);
        }
        for (PlannedFile p : files) {
            b.file(p.info(), p.kind().name(), p.restorer());
            p.info().fles().forEach(f -> restored.get(f.pid()).add(f.fd()));
        }
        try {
            b.build().run();
        } catch (RestoreException | RuntimeException e) {
            for (PlannedFile p : files) {
                try {
                    p.restorer().abort();
                } catch (Exception x) {
                    e.addSuppressed(x);
                }
            }
            throw e;
        }
        for (ImageSet.Task t : images.tasks()) {
            List<String> strays = strays(t.pid());
            if (!strays.isEmpty()) {
                throw new AssertionError("task " + t.pid() + " holds fds no image names: " + strays);
            }
        }
        return this;
    }

    /** A file of the images with the kind that restores it and the restorer it planned. */
    record PlannedFile(FileInfo info, FileKind kind, FileRestorer restorer) {
    }

    /**
     * Plans every file of {@code images} whose type one of {@code kinds} restores: its slots are every fd
     * that refers to it, in (task, fd) order. Files of other types are left out.
     */
    static List<PlannedFile> plan(ImageSet images, TestPlanContext ctx, List<FileKind> kinds) throws PlanException {
        List<PlannedFile> out = new ArrayList<>();
        for (Map.Entry<Long, List<ImageSet.FdRef>> e : images.sharers().entrySet()) {
            FdType type = e.getValue().get(0).fd().type();
            FileKind kind = kinds.stream().filter(k -> k.fdTypes().contains(type)).findFirst().orElse(null);
            if (kind == null) {
                continue;
            }
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : e.getValue()) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            FileInfo info = new FileInfo(e.getKey(), type, images.file(e.getKey()).orElseThrow(), fles);
            out.add(new PlannedFile(info, kind, kind.plan(info, ctx)));
        }
        return out;
    }

    /**
     * Task {@code pid}'s fds that it neither inherited from the JVM nor got from the images, as "fd -> target":
     * what a failed restore must not leave either (a successful one is checked by {@link #restore}).
     */
    public List<String> strays(int pid) throws IOException {
        ExecutorTaskTable t = table0(pid);
        Set<Integer> inherited = new HashSet<>();
        Arrays.stream(t.inheritedFds()).forEach(inherited::add);
        List<String> out = new ArrayList<>();
        // The transport's endpoint stays after a failed run: the engine closes it only on success.
        inherited.add(transport.endpointFd(pid));
        for (int fd : t.listFds()) {
            if (!inherited.contains(fd) && !restored.get(pid).contains(fd)) {
                out.add(fd + " -> " + Files.readSymbolicLink(fd(pid, fd)));
            }
        }
        return out;
    }

    private ExecutorTaskTable table0(int pid) {
        ExecutorTaskTable t = tables.get(pid);
        if (t == null) {
            throw new IllegalArgumentException("no task " + pid + " in this harness (tasks: " + tables.keySet() + ")");
        }
        return t;
    }

    /** Task {@code pid}'s table, for the calls a test checks with (getsockopt, read, fstat, ioctl ...). */
    public TaskTable table(int pid) {
        return table0(pid);
    }

    /** The kernel thread id that holds task {@code pid}'s table. */
    public int tid(int pid) {
        return table0(pid).tid();
    }

    /** {@code /proc/self/task/TID/fd/N} of task {@code pid}: read its link, or open it as the task would. */
    public Path fd(int pid, int fd) {
        return Path.of("/proc/self/task/" + tid(pid) + "/fd/" + fd);
    }

    /** The kernel's fdinfo of fd {@code fd} of task {@code pid}. */
    public String fdinfo(int pid, int fd) throws IOException {
        return Files.readString(Path.of("/proc/self/task/" + tid(pid) + "/fdinfo/" + fd));
    }

    /** Whether two fds (of one task or two) are one open file description (kcmp KCMP_FILE). */
    public boolean sameFile(int pid1, int fd1, int pid2, int fd2) throws IOException {
        return Sys.kcmp(tid(pid1), tid(pid2), Linux.KCMP_FILE, fd1, fd2) == 0;
    }

    /**
     * The restored fds of every task, keyed by image pid, in the form of the samples' {@code expected.norm}
     * ({@link FdSnapshot}): only the fds the images name for the restored kinds, paths under the root as
     * the images name them.
     */
    public Map<Integer, List<String>> snapshot() throws IOException {
        Map<Integer, Integer> tids = new LinkedHashMap<>();
        tables.forEach((pid, t) -> tids.put(pid, t.tid()));
        return FdSnapshot.take(tids, root, (pid, fd) -> restored.get(pid).contains(fd));
    }

    /**
     * Dumps fd {@code fd} of this JVM with {@code dumper}, as file {@code id}, and returns its files.img
     * entry; fails when the dumper does not claim the fd.
     */
    public static FileEntry dump(FileDumper dumper, int fd, long id) throws Exception {
        try (LocalDumpContext ctx = LocalDumpContext.of(fd, id)) {
            if (!dumper.dumps(ctx.file())) {
                throw new AssertionError(dumper.getClass().getSimpleName() + " does not claim fd " + fd + " ("
                        + ctx.file() + ")");
            }
            return dumper.dump(ctx);
        }
    }

    /**
     * Ends every table (all their fds, and what is in flight in their sockets) and the transport, then
     * fails if the JVM's own table holds an fd it did not hold at {@link #open()}: one a kind made there
     * (to adopt it) and did not close.
     */
    @Override
    public void close() throws IOException {
        runtime.close();
        tables.clear();
        restored.clear();
        transport.close();
        SortedMap<Integer, String> gained = FdLeaks.gainedSince(jvm);
        if (!gained.isEmpty()) {
            throw new AssertionError("fds left in the JVM's own table since the harness opened: " + gained);
        }
    }
}
