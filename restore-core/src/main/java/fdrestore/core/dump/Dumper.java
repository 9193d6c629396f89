package fdrestore.core.dump;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.FsEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.FileStat;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.dump.DumpState.Desc;
import fdrestore.core.dump.DumpState.Slot;
import fdrestore.core.dump.DumpState.Task;
import fdrestore.core.restore.Restorer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * {@code fdrestore dump}: captures the fd tables of a live process tree into a CRIU-format image set.
 *
 * <p>The tree is walked from {@code /proc/PID/task/*}/children (DFS, the order of pstree.img). Every fd of
 * every task is copied into the JVM's table with pidfd_getfd, and the copies are kept in a map sorted by
 * kcmp(KCMP_FILE) order, bucketed by inode: an fd whose copy compares equal to a kept one is another slot
 * of the same open file description ({@link FdReader}). Each description is then dumped by the plugin that
 * recognises it ({@link FileDumper}), from its first holder (pstree order, lowest fd), through a
 * {@link DescContext}. The core writes pstree, ids, core, fs, fdinfo, files.img, inventory and fdrestore's
 * own fdr-task.img (argv, env, cwd) ({@link TreeImages}). What the phases find is a {@link DumpState}.
 *
 * <p>The images are written to a temporary directory next to the target, checked (strict codec, then the
 * whole-set validation a restore runs) and renamed to the target at the end: a failed dump leaves nothing
 * under the target's name. With {@code freeze}, every thread of a task is held still by {@link Freezer}
 * (ptrace) before its children are listed, and resumed when the dump ends, whatever happened.
 */
public final class Dumper {
    /** What to dump and how. */
    public record Options(int pid, Path dir, boolean freeze, boolean skipUnknown) {
    }

    private final List<FileKind> kinds;
    private final Options options;
    private final ProcFs proc;
    private final int self = Sys.getpid();
    private static final System.Logger LOG = System.getLogger("fdrestore.dump");
    /** What held the tree still ({@link DumpResult#freezer()}), or null without --freeze. */
    private String freezerUsed;
    /** The run directory where a cgroup freeze is journaled; null: the ptrace freezer only. */
    private Path runBase;

    public Dumper(List<FileKind> kinds, Options options) {
        this(kinds, options, new ProcFs());
    }

    Dumper(List<FileKind> kinds, Options options, ProcFs proc) {
        this.kinds = List.copyOf(kinds);
        this.options = options;
        this.proc = proc;
    }

    /**
     * The run directory ({@link fdrestore.core.restore.RunJournal#base}) in which a freeze of the tree's
     * cgroup is journaled, so that {@code fdrestore cleanup} thaws it should fdrestore and its watchdog
     * both be killed. Without one, --freeze uses ptrace only (which the kernel undoes for a dead tracer).
     */
    public Dumper runDir(Path base) {
        this.runBase = base;
        return this;
    }

    private final DumpState state = new DumpState();
    private final List<Task> tasks = state.tasks;
    private final List<Desc> descs = state.descs;

    /** Dumps the tree; returns what was written. Nothing is left under the target's name on failure. */
    public DumpResult run() throws DumpException, IOException {
        long start = System.nanoTime();
        Path target = options.dir().toAbsolutePath().normalize();
        checkTarget(target);
        int root = options.pid();
        if (root <= 0) {
            throw new DumpException("bad pid " + root);
        }
        if (!proc.exists(root)) {
            throw new DumpException("no process " + root + " (there is no /proc/" + root + ")");
        }
        refuseOwnAncestor(root);
        List<Integer> frozen = List.of();
        Path tmp = null;
        try (Freezer freezer = options.freeze() ? new Freezer(proc, runBase) : null) {
            try {
                if (freezer != null) {
                    String ptraceWhy = freezer.freezeCgroup(root);
                    freezerUsed = ptraceWhy == null ? "cgroup " + freezer.cgroup() : "ptrace";
                    LOG.log(System.Logger.Level.INFO, ptraceWhy == null
                            ? "--freeze: the tree is alone in " + freezer.cgroup() + ": froze it with the cgroup v2 freezer"
                            : "--freeze: ptrace freezer (PTRACE_SEIZE, PTRACE_INTERRUPT); no cgroup freezer: " + ptraceWhy);
                }
                walk(root, freezer, true);
                kobjIds();
                FdReader reader = new FdReader(proc, state);
                for (Task t : tasks) {
                    if (t.tableOwner == t) {
                        reader.readFds(t);
                    }
                }
                recognise();
                // Kinds that name other fds (epoll) last: by then every skip is settled.
                for (boolean late : new boolean[] {false, true}) {
                    for (Desc d : descs) {
                        if (d.skipped == null && d.dumper.namesOtherFds() == late) {
                            dumpOne(d);
                        }
                    }
                }
                checkAlive();
                new TreeImages(proc, state).build();
                Files.createDirectories(target.getParent());
                tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".dump-");
                state.sink.writeTo(tmp);
                selfCheck(tmp, kinds);
                frozen = freezer == null ? List.of() : freezer.stopped();
            } finally {
                closeAll();
            }
        } catch (DumpException | IOException | RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        try {
            if (Files.isDirectory(target)) {
                Files.delete(target); // empty, checked above; a non-empty one fails here
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (DirectoryNotEmptyException e) {
            deleteQuietly(tmp);
            throw new DumpException(target + " was filled during the dump; refusing to overwrite it");
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw e;
        }
        return result(target, frozen, System.nanoTime() - start);
    }

    private static void checkTarget(Path target) throws DumpException, IOException {
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) {
                throw new DumpException(target + " exists and is not a directory");
            }
            try (Stream<Path> s = Files.list(target)) {
                if (s.findAny().isPresent()) {
                    throw new DumpException(target + " exists and is not empty; refusing to write a dump into it");
                }
            }
        }
        if (target.getParent() == null) {
            throw new DumpException("cannot dump into " + target);
        }
    }

    /** Dumping (and above all freezing) an ancestor of fdrestore itself would stop fdrestore. */
    private void refuseOwnAncestor(int root) throws DumpException {
        int p = self;
        for (int guard = 0; p > 0 && guard < 4096; guard++) {
            if (p == root) {
                throw new DumpException("process " + root + " is fdrestore itself or one of its ancestors;"
                        + " dump a tree that does not contain fdrestore");
            }
            try {
                p = proc.stat(p).ppid();
            } catch (DumpException e) {
                return;
            }
        }
    }

    private void walk(int pid, Freezer freezer, boolean isRoot) throws DumpException {
        ProcFs.Stat before = proc.stat(pid);
        if (before.zombie()) {
            if (isRoot) {
                throw new DumpException("process " + pid + " is a zombie (it exited and was not reaped): nothing to dump");
            }
            state.notes.add("process " + pid + " (" + before.comm() + ") is a zombie: left out of the dump");
            return;
        }
        boolean wasStopped = before.stopped();
        if (freezer != null) {
            freezer.stop(pid);
        }
        ProcFs.Stat st = proc.stat(pid);
        Task t = new Task(pid, st, proc.threads(pid), wasStopped);
        tasks.add(t);
        state.byPid.put(pid, t);
        for (int child : proc.children(pid)) {
            if (child == self) {
                throw new DumpException("fdrestore itself (pid " + self + ") is in the tree of " + options.pid());
            }
            if (!proc.exists(child)) {
                continue; // exited between the listing and now: not part of the tree any more
            }
            walk(child, freezer, false);
        }
    }

    /** vm, files, fs and sighand ids: equal for tasks that share the object (kcmp ordering). */
    private void kobjIds() throws DumpException {
        assign(Linux.KCMP_VM, (t, id) -> t.vmId = id);
        Map<Long, Task> owners = new HashMap<>();
        assign(Linux.KCMP_FILES, (t, id) -> t.filesId = id);
        for (Task t : tasks) {
            t.tableOwner = owners.computeIfAbsent(t.filesId, k -> t);
        }
        assign(Linux.KCMP_FS, (t, id) -> t.fsId = id);
        assign(Linux.KCMP_SIGHAND, (t, id) -> t.sighandId = id);
    }

    private interface IdSetter {
        void set(Task t, long id);
    }

    private void assign(int type, IdSetter setter) throws DumpException {
        TreeMap<Integer, Long> seen = new TreeMap<>(Kcmp.tasks(type));
        long next = 1;
        for (Task t : tasks) {
            Long id;
            try {
                id = seen.get(t.pid);
                if (id == null) {
                    id = next++;
                    seen.put(t.pid, id);
                }
            } catch (Kcmp.Failure f) {
                throw Kcmp.failure(t.pid, f.sys());
            }
            setter.set(t, id);
        }
    }

    private record Candidate(String kind, FileDumper dumper) {
    }

    private void recognise() throws DumpException {
        List<Candidate> dumpers = new ArrayList<>();
        for (FileKind k : kinds) {
            if (k instanceof FileDumper d) {
                dumpers.add(new Candidate(k.name(), d));
            }
        }
        for (Desc d : descs) {
            LiveFile live = d.first().live();
            List<Candidate> hits = new ArrayList<>();
            for (Candidate c : dumpers) {
                if (c.dumper().dumps(live)) {
                    hits.add(c);
                }
            }
            if (hits.size() > 1) {
                throw new DumpException(live + ": claimed by two kinds, " + hits.get(0).kind() + " and "
                        + hits.get(1).kind() + " (a plugin bug: exactly one kind may dump a file)");
            }
            if (hits.isEmpty()) {
                String what = kindOf(live);
                String reason = "no plugin dumps " + what;
                if (!options.skipUnknown()) {
                    throw new DumpException(live + ": " + reason + " (plugins with a dump side: "
                            + String.join(", ", dumpers.stream().map(Candidate::kind).toList())
                            + "); --skip-unknown leaves such files out of the dump");
                }
                skip(d, reason);
                continue;
            }
            d.dumper = hits.get(0).dumper();
            d.kind = hits.get(0).kind();
        }
    }

    /** A readable name of a live file's kind, for messages. */
    static String kindOf(LiveFile f) {
        String l = f.link();
        if (l.startsWith("anon_inode:")) {
            return l.substring("anon_inode:".length()).replace("[", "").replace("]", "") + " files ("
                    + l + ")";
        }
        switch (f.fileType()) {
            case Linux.S_IFSOCK:
                return "this kind of socket (" + l + ")";
            case Linux.S_IFCHR:
                return "character device " + l;
            case Linux.S_IFBLK:
                return "block device " + l;
            case Linux.S_IFIFO:
                return l.startsWith("pipe:") ? "pipes (" + l + ")" : "fifo " + l;
            default:
                return "file " + l + " (mode 0" + Integer.toOctalString(f.stat().mode()) + ")";
        }
    }

    private void skip(Desc d, String reason) {
        d.skipped = reason;
        for (Slot s : d.slots) {
            state.skipped.add(new DumpResult.Skipped(s.task().pid, s.fd(), s.live().link(), reason));
        }
    }

    private void dumpOne(Desc d) throws DumpException {
        DescContext ctx = new DescContext(state, proc, d);
        try {
            FileEntry e;
            try {
                e = d.dumper.dump(ctx);
            } catch (DumpException x) {
                if (x.isUnsupported() && options.skipUnknown()) {
                    skip(d, d.kind + ": " + x.getMessage());
                    return;
                }
                throw new DumpException(d.first().live() + ": " + x.getMessage()
                        + (x.isUnsupported() ? " (--skip-unknown leaves it out of the dump)" : ""), x);
            } catch (RuntimeException x) {
                throw new DumpException(d.first().live() + ": the " + d.kind + " plugin failed: " + x, x);
            }
            if (e == null || Integer.toUnsignedLong(e.getId()) != d.id || !e.isInitialized()) {
                throw new DumpException(d.first().live() + ": the " + d.kind + " plugin returned a bad entry"
                        + " (its id must be " + d.id + " and every required field set): " + e);
            }
            d.entry = e;
            ctx.commit();
        } finally {
            ctx.close();
        }
    }

    /** Every task must still be there at the end: a dump of a tree that lost a task is not that tree. */
    private void checkAlive() throws DumpException {
        for (Task t : tasks) {
            if (!proc.exists(t.pid) || proc.stat(t.pid).zombie()) {
                throw ProcFs.gone(t.pid);
            }
        }
    }

    /** The plugin option a restore with --shell-job gives: the terminal external pty slaves go onto. */
    private static final String SHELL_JOB_TTY = "shell-job-tty";

    /**
     * The written set must pass the strict codec and the validation a restore runs, and must plan as a
     * restore with these kinds would (plan only: no syscall), or the dump fails rather than leave a set
     * that cannot be restored.
     */
    static void selfCheck(Path dir, List<FileKind> kinds) throws DumpException, IOException {
        List<String> problems = StrictCheck.checkDir(dir);
        if (!problems.isEmpty()) {
            throw new DumpException("the dumped images fail the strict CRIU check (a plugin bug): "
                    + String.join("; ", problems));
        }
        ImageSet written;
        try {
            written = ImageSet.open(dir);
        } catch (IOException e) {
            throw new DumpException("the dumped images do not validate (a plugin bug): " + e.getMessage(), e);
        }
        try {
            // As a restore that gives what the images record as outside the tree would: a terminal whose
            // master was outside (--shell-job); a cwd removed since falls back to the root (--cwd-fallback).
            new Restorer(written, kinds, () -> null, new Restorer.Options(Path.of("/"),
                    Map.of(SHELL_JOB_TTY, "/dev/tty"), "plan-only", false, 0)
                    .withLaunch(new Restorer.Launch(false, false, true))).planOnly();
        } catch (RestoreException | RuntimeException e) {
            throw new DumpException("the dumped images would not restore (their plan fails, so nothing was written): "
                    + e.getMessage(), e);
        }
    }

    private void closeAll() {
        for (int fd : state.ownedFds) {
            Sys.closeQuietly(fd);
        }
        state.ownedFds.clear();
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    private DumpResult result(Path target, List<Integer> frozen, long ns) {
        List<DumpResult.TaskSummary> ts = new ArrayList<>();
        for (Task t : tasks) {
            int fds = 0;
            for (Slot s : t.tableOwner.slots) {
                if (s.desc().skipped == null) {
                    fds++;
                }
            }
            ts.add(new DumpResult.TaskSummary(t.pid, t == tasks.get(0) ? 0 : t.stat.ppid(), t.stat.pgid(),
                    t.stat.sid(), t.threads, t.stat.comm(), fds));
        }
        Map<String, Integer> perKind = new TreeMap<>();
        for (Desc d : descs) {
            if (d.entry != null) {
                perKind.merge(d.kind, 1, Integer::sum);
            }
        }
        return new DumpResult(options.pid(), target, ts, perKind, List.copyOf(state.skipped), List.copyOf(state.notes),
                options.freeze(), frozen, freezerUsed, ns);
    }
}
