package fdrestore.core.dump;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import fdrestore.core.image.FdType;
import fdrestore.core.image.ImageSet;
import fdrestore.core.image.codec.ImageEntry;
import fdrestore.core.image.codec.Magic;
import fdrestore.core.image.codec.StrictCheck;
import fdrestore.core.image.proto.CoreEntry;
import fdrestore.core.image.proto.FdinfoEntry;
import fdrestore.core.image.proto.FdrTaskEntry;
import fdrestore.core.image.proto.FileEntry;
import fdrestore.core.image.proto.FileLockEntry;
import fdrestore.core.image.proto.FownEntry;
import fdrestore.core.image.proto.FsEntry;
import fdrestore.core.image.proto.InventoryEntry;
import fdrestore.core.image.proto.PstreeEntry;
import fdrestore.core.image.proto.RegFileEntry;
import fdrestore.core.image.proto.TaskCoreEntry;
import fdrestore.core.image.proto.TaskKobjIdsEntry;
import fdrestore.core.spi.DumpContext;
import fdrestore.core.spi.DumpException;
import fdrestore.core.spi.Fdinfo;
import fdrestore.core.spi.FileDumper;
import fdrestore.core.spi.FileKind;
import fdrestore.core.spi.LiveFile;
import fdrestore.core.sys.Errno;
import fdrestore.core.sys.FileStat;
import fdrestore.core.sys.Linux;
import fdrestore.core.sys.Native;
import fdrestore.core.sys.Sys;
import fdrestore.core.sys.SysException;
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
import jnr.ffi.Pointer;

/**
 * {@code fdrestore dump}: captures the fd tables of a live process tree into a CRIU-format image set.
 *
 * <p>The tree is walked from {@code /proc/PID/task/*}/children (DFS, the order of pstree.img). Every fd of
 * every task is copied into the JVM's table with pidfd_getfd, and the copies are kept in a map sorted by
 * kcmp(KCMP_FILE) order, bucketed by inode: an fd whose copy compares equal to a kept one is another slot
 * of the same open file description. Each description is then dumped by the plugin that recognises it
 * ({@link FileDumper}), from its first holder (pstree order, lowest fd). The core writes pstree, ids,
 * core, fs, fdinfo, files.img, inventory and fdrestore's own fdr-task.img (argv, env, cwd).
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

    static final int SO_PROTOCOL = 38;
    static final int SO_DOMAIN = 39;

    private final List<FileKind> kinds;
    private final Options options;
    private final ProcFs proc;
    private final int self = Sys.getpid();

    public Dumper(List<FileKind> kinds, Options options) {
        this(kinds, options, new ProcFs());
    }

    Dumper(List<FileKind> kinds, Options options, ProcFs proc) {
        this.kinds = List.copyOf(kinds);
        this.options = options;
        this.proc = proc;
    }

    // ------------------------------------------------------------------ model

    /** One task of the tree. */
    private static final class Task {
        final int pid;
        final ProcFs.Stat stat;
        final List<Integer> threads;
        final boolean wasStopped;
        long vmId;
        long filesId;
        long fsId;
        long sighandId;
        /** The task whose fd table this one shares (itself when it has its own). */
        Task tableOwner;
        final List<Slot> slots = new ArrayList<>();
        int pidfd = -1;

        Task(int pid, ProcFs.Stat stat, List<Integer> threads, boolean wasStopped) {
            this.pid = pid;
            this.stat = stat;
            this.threads = threads;
            this.wasStopped = wasStopped;
        }
    }

    /** One fd slot. */
    private record Slot(Task task, int fd, LiveFile live, boolean cloexec, Desc desc) {
    }

    /** One open file description. */
    private static final class Desc {
        final long id;
        final int copy;
        final List<Slot> slots = new ArrayList<>();
        FileDumper dumper;
        String kind;
        FileEntry entry;
        String skipped;

        Desc(long id, int copy) {
            this.id = id;
            this.copy = copy;
        }

        Slot first() {
            return slots.get(0);
        }
    }

    private final List<Task> tasks = new ArrayList<>();
    private final Map<Integer, Task> byPid = new HashMap<>();
    private final List<Desc> descs = new ArrayList<>();
    private final Map<String, TreeMap<Integer, Desc>> buckets = new HashMap<>();
    private final List<Integer> ownedFds = new ArrayList<>();
    private final Map<String, Object> memo = new HashMap<>();
    private final List<String> notes = new ArrayList<>();
    private final List<DumpResult.Skipped> skipped = new ArrayList<>();
    private final ImageSink sink = new ImageSink();
    private final List<FileEntry> files = new ArrayList<>();
    private long nextId = 1;

    // ------------------------------------------------------------------ run

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
        try (Freezer freezer = options.freeze() ? new Freezer(proc) : null) {
            try {
                walk(root, freezer, true);
                kobjIds();
                for (Task t : tasks) {
                    if (t.tableOwner == t) {
                        readFds(t);
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
                buildImages();
                Files.createDirectories(target.getParent());
                tmp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".dump-");
                sink.writeTo(tmp);
                selfCheck(tmp);
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

    // ------------------------------------------------------------------ tree

    private void walk(int pid, Freezer freezer, boolean isRoot) throws DumpException {
        ProcFs.Stat before = proc.stat(pid);
        if (before.zombie()) {
            if (isRoot) {
                throw new DumpException("process " + pid + " is a zombie (it exited and was not reaped): nothing to dump");
            }
            notes.add("process " + pid + " (" + before.comm() + ") is a zombie: left out of the dump");
            return;
        }
        boolean wasStopped = before.stopped();
        if (freezer != null) {
            freezer.stop(pid);
        }
        ProcFs.Stat st = proc.stat(pid);
        Task t = new Task(pid, st, proc.threads(pid), wasStopped);
        tasks.add(t);
        byPid.put(pid, t);
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
                throw kcmpFailure(t.pid, f.sys());
            }
            setter.set(t, id);
        }
    }

    private DumpException kcmpFailure(int pid, SysException e) {
        if (e.errno() == Errno.ESRCH) {
            return ProcFs.gone(pid);
        }
        if (e.errno() == Errno.EPERM || e.errno() == Errno.EACCES) {
            return ProcFs.notPermitted(pid, e.call());
        }
        return new DumpException("process " + pid + ": " + e.getMessage(), e);
    }

    // ------------------------------------------------------------------ fds

    private void readFds(Task t) throws DumpException {
        try {
            t.pidfd = Sys.pidfdOpen(t.pid, 0);
            ownedFds.add(t.pidfd);
        } catch (SysException e) {
            throw e.errno() == Errno.ESRCH ? ProcFs.gone(t.pid) : new DumpException("pidfd_open of process "
                    + t.pid + ": " + e.getMessage(), e);
        }
        for (int fd : proc.fds(t.pid)) {
            readFd(t, fd);
        }
    }

    private void readFd(Task t, int fd) throws DumpException {
        String link = proc.fdLink(t.pid, fd);
        if (link == null) {
            throw closed(t, fd, null);
        }
        int copy;
        try {
            copy = Sys.pidfdGetfd(t.pidfd, fd);
        } catch (SysException e) {
            if (e.errno() == Errno.EBADF) {
                throw proc.exists(t.pid) ? closed(t, fd, link) : ProcFs.gone(t.pid);
            }
            if (e.errno() == Errno.ESRCH) {
                throw ProcFs.gone(t.pid);
            }
            if (e.errno() == Errno.EPERM || e.errno() == Errno.EACCES) {
                throw ProcFs.notPermitted(t.pid, "pidfd_getfd of fd " + fd);
            }
            if (e.errno() == Errno.EMFILE || e.errno() == Errno.ENFILE) {
                throw new DumpException("too many open files in fdrestore while copying task " + t.pid + " fd " + fd
                        + " (one copy is kept per open file description of the tree; raise the open-files limit)", e);
            }
            throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + e.getMessage(), e);
        }
        boolean kept = false;
        try {
            String info = proc.fdinfo(t.pid, fd);
            if (info == null) {
                throw closed(t, fd, link);
            }
            Fdinfo fdinfo;
            FileStat stat;
            try {
                fdinfo = Fdinfo.parse(info);
                fdinfo.flags();
                stat = Sys.fstat(copy);
            } catch (SysException | IllegalArgumentException e) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + e.getMessage(), e);
            }
            int same;
            try {
                same = Sys.kcmp(t.pid, self, Linux.KCMP_FILE, fd, copy);
            } catch (SysException e) {
                throw e.errno() == Errno.EBADF ? closed(t, fd, link) : kcmpFailure(t.pid, e);
            }
            if (same != 0) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + ") was replaced by another file"
                        + " during the dump (--freeze stops the tree while it is dumped)");
            }
            LiveFile live = new LiveFile(t.pid, fd, link, fdinfo, stat,
                    stat.type() == Linux.S_IFSOCK ? socketOf(copy) : null);
            boolean cloexec = (fdinfo.flags() & Linux.O_CLOEXEC) != 0;
            String key = stat.dev() + ":" + stat.ino();
            TreeMap<Integer, Desc> bucket = buckets.computeIfAbsent(key, k -> new TreeMap<>(Kcmp.jvmFiles()));
            Desc d;
            try {
                d = bucket.get(copy);
                if (d == null) {
                    d = new Desc(nextId++, copy);
                    bucket.put(copy, d);
                    descs.add(d);
                    ownedFds.add(copy);
                    kept = true;
                }
            } catch (Kcmp.Failure f) {
                throw new DumpException("task " + t.pid + " fd " + fd + " (" + link + "): " + f.getMessage(), f.sys());
            }
            Slot s = new Slot(t, fd, live, cloexec, d);
            d.slots.add(s);
            t.slots.add(s);
        } finally {
            if (!kept) {
                Sys.closeQuietly(copy);
            }
        }
    }

    /** SO_DOMAIN, SO_TYPE, SO_PROTOCOL of a socket copy; null when they cannot be read. */
    private static LiveFile.Socket socketOf(int copy) {
        try {
            return new LiveFile.Socket(Sys.getsockoptInt(copy, Linux.SOL_SOCKET, SO_DOMAIN),
                    Sys.getsockoptInt(copy, Linux.SOL_SOCKET, Linux.SO_TYPE),
                    Sys.getsockoptInt(copy, Linux.SOL_SOCKET, SO_PROTOCOL));
        } catch (SysException e) {
            return null;
        }
    }

    private DumpException closed(Task t, int fd, String link) {
        return new DumpException("task " + t.pid + " fd " + fd + (link == null ? "" : " (" + link + ")")
                + " was closed during the dump (--freeze stops the tree while it is dumped)");
    }

    // ------------------------------------------------------------------ kinds

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
            skipped.add(new DumpResult.Skipped(s.task().pid, s.fd(), s.live().link(), reason));
        }
    }

    private void dumpOne(Desc d) throws DumpException {
        DescCtx ctx = new DescCtx(d);
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

    /** The context of one description's dump; its images are kept only on success. */
    private final class DescCtx implements DumpContext {
        private final Desc d;
        private final List<FileEntry> extra = new ArrayList<>();
        private final List<Map.Entry<Magic, ImageEntry>> side = new ArrayList<>();
        private final Map<Map.Entry<Magic, Long>, List<ImageEntry>> objects = new LinkedHashMap<>();
        private final Map<Long, byte[]> pages = new LinkedHashMap<>();
        private final List<Integer> opened = new ArrayList<>();

        DescCtx(Desc d) {
            this.d = d;
        }

        @Override
        public LiveFile file() {
            return d.first().live();
        }

        @Override
        public long id() {
            return d.id;
        }

        @Override
        public long newId() {
            return nextId++;
        }

        @Override
        public int localFd() {
            return d.copy;
        }

        @Override
        public int reopen(int flags) throws DumpException {
            return Dumper.reopen(d.copy, flags, opened);
        }

        @Override
        public FownEntry fown() throws DumpException {
            return readFown(d.copy, uids(d.first().task().pid));
        }

        @Override
        public OptionalLong fileIdOf(int fd) {
            Task owner = d.first().task();
            for (Slot s : owner.slots) {
                if (s.fd() == fd) {
                    return s.desc().skipped == null ? OptionalLong.of(s.desc().id) : OptionalLong.empty();
                }
            }
            return OptionalLong.empty();
        }

        @Override
        public int[] taskFds() {
            return d.first().task().slots.stream().mapToInt(Slot::fd).toArray();
        }

        @Override
        public boolean treeHoldsSocket(long ino) {
            for (Desc other : descs) {
                LiveFile l = other.first().live();
                if (l.isSocket() && l.stat().ino() == ino) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean epollTargetIs(int tfd, int toff, int fd) throws DumpException {
            int pid = d.first().task().pid;
            Pointer slot = Native.allocate(12);
            slot.putInt(0, d.first().fd());
            slot.putInt(4, tfd);
            slot.putInt(8, toff);
            try {
                return Sys.kcmp(pid, pid, Linux.KCMP_EPOLL_TFD, fd, slot.address()) == 0;
            } catch (SysException e) {
                if (e.errno() == Errno.EBADF || e.errno() == Errno.ENOENT || e.errno() == Errno.EINVAL) {
                    return false;
                }
                throw kcmpFailure(pid, e);
            }
        }

        @Override
        public void addFile(FileEntry entry) {
            extra.add(entry);
        }

        @Override
        public void append(Magic magic, Message message, byte[] payload) {
            side.add(Map.entry(magic, new ImageEntry(message, payload)));
        }

        @Override
        public void writeImage(Magic magic, long id, List<ImageEntry> entries) {
            objects.put(Map.entry(magic, id), List.copyOf(entries));
        }

        @Override
        public void writePages(long pagesId, byte[] pages) {
            this.pages.put(pagesId, pages.clone());
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T memo(String key, Supplier<T> make) {
            return (T) Dumper.this.memo.computeIfAbsent(key, k -> make.get());
        }

        @Override
        public void note(String message) {
            notes.add(d.first().live() + ": " + message);
        }

        void commit() {
            files.addAll(extra);
            for (Map.Entry<Magic, ImageEntry> e : side) {
                sink.add(e.getKey(), e.getValue());
            }
            for (Map.Entry<Map.Entry<Magic, Long>, List<ImageEntry>> e : objects.entrySet()) {
                sink.put(e.getKey().getKey(), e.getKey().getValue(), e.getValue());
            }
            pages.forEach(sink::putPages);
        }

        void close() {
            for (int fd : opened) {
                Sys.closeQuietly(fd);
            }
            opened.clear();
        }
    }

    /**
     * A new open file description of the file behind {@code copy} (an fd of this JVM), through
     * /proc/self/fd, with {@code flags} and O_CLOEXEC; recorded in {@code opened}, which its context closes.
     */
    static int reopen(int copy, int flags, List<Integer> opened) throws DumpException {
        try {
            int fd = Sys.open("/proc/self/fd/" + copy, flags | Linux.O_CLOEXEC, 0);
            opened.add(fd);
            return fd;
        } catch (SysException e) {
            throw new DumpException("cannot reopen it: " + e.getMessage(), e);
        }
    }

    /** The F_SETOWN state of a description, read on a copy: all zero when it has no owner (as CRIU writes it). */
    static FownEntry readFown(int fd, int[] uids) throws DumpException {
        try {
            byte[] ex = new byte[8];
            Sys.fcntl(fd, Linux.F_GETOWN_EX, ex);
            int type = (ex[0] & 0xff) | (ex[1] & 0xff) << 8 | (ex[2] & 0xff) << 16 | (ex[3] & 0xff) << 24;
            int pid = (ex[4] & 0xff) | (ex[5] & 0xff) << 8 | (ex[6] & 0xff) << 16 | (ex[7] & 0xff) << 24;
            FownEntry.Builder b = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0);
            if (pid != 0) {
                int signum = (int) Sys.fcntl(fd, Linux.F_GETSIG, 0);
                b.setUid(uids[0]).setEuid(uids[1]).setSignum(signum).setPidType(type).setPid(pid);
            }
            return b.build();
        } catch (SysException e) {
            throw new DumpException("cannot read its owner (F_GETOWN_EX): " + e.getMessage(), e);
        }
    }

    private int[] uids(int pid) {
        try {
            String[] u = proc.status(pid, "Uid").split("\\s+");
            return new int[] {Integer.parseInt(u[0]), Integer.parseInt(u[1])};
        } catch (DumpException | RuntimeException e) {
            return new int[] {0, 0};
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

    // ------------------------------------------------------------------ images

    private void buildImages() throws DumpException {
        Map<String, Long> nsIds = new HashMap<>();
        TaskKobjIdsEntry rootIds = null;
        for (Task t : tasks) {
            PstreeEntry.Builder p = PstreeEntry.newBuilder().setPid(t.pid)
                    .setPpid(t == tasks.get(0) ? 0 : t.stat.ppid()).setPgid(t.stat.pgid()).setSid(t.stat.sid());
            t.threads.forEach(p::addThreads);
            sink.add(Magic.PSTREE, ImageEntry.of(p.build()));

            TaskKobjIdsEntry ids = ids(t, nsIds);
            if (rootIds == null) {
                rootIds = ids;
            }
            sink.put(Magic.IDS, t.pid, List.of(ImageEntry.of(ids)));
            sink.put(Magic.CORE, t.pid, List.of(ImageEntry.of(core(t))));

            long cwdId = dirEntry(t, "cwd");
            long rootId = dirEntry(t, "root");
            FsEntry.Builder fs = FsEntry.newBuilder().setCwdId((int) cwdId).setRootId((int) rootId);
            String umask = proc.status(t.pid, "Umask");
            if (umask != null) {
                fs.setUmask(Integer.parseInt(umask, 8));
            }
            sink.put(Magic.FS, t.pid, List.of(ImageEntry.of(fs.build())));

            if (t.tableOwner == t) {
                List<ImageEntry> fdinfo = new ArrayList<>();
                for (Slot s : t.slots) {
                    if (s.desc().skipped != null) {
                        continue;
                    }
                    fdinfo.add(ImageEntry.of(FdinfoEntry.newBuilder().setId((int) s.desc().id)
                            .setFlags(s.cloexec() ? Linux.FD_CLOEXEC : 0).setType(s.desc().entry.getType())
                            .setFd(s.fd()).build()));
                }
                sink.put(Magic.FDINFO, t.filesId, fdinfo);
            }

            FdrTaskEntry.Builder fdr = FdrTaskEntry.newBuilder().setPid(t.pid).setComm(t.stat.comm());
            List<byte[]> argv = proc.nulSeparated(t.pid, "cmdline");
            if (!argv.isEmpty() && fdrestore.core.restore.Holder.isHolder(new String(argv.get(0), StandardCharsets.UTF_8))) {
                // A task fdrestore restored: its command line is the holder's, with fd numbers of that
                // restore. No command is recorded, so a restore of these images holds the fds anew.
                notes.add("process " + t.pid + " (" + t.stat.comm() + ") runs fdrestore's holder (it was restored by "
                        + "fdrestore): no command line recorded, a restore holds its fds again");
            } else {
                argv.forEach(a -> fdr.addArgv(ByteString.copyFrom(a)));
                proc.nulSeparated(t.pid, "environ").forEach(a -> fdr.addEnv(ByteString.copyFrom(a)));
                fdr.setExecd(execd(t.pid, t.stat.ppid(), argv));
            }
            fdr.setCwd(ByteString.copyFrom(proc.link(t.pid, "cwd"), StandardCharsets.UTF_8));
            sink.add(Magic.FDR_TASK, ImageEntry.of(fdr.build()));
        }
        List<FileLocksDump.Held> held = new ArrayList<>();
        for (Task t : tasks) {
            for (Slot s : t.tableOwner == t ? t.slots : List.<Slot>of()) {
                if (s.desc().skipped == null && s.desc().entry != null && s.desc().entry.getType() == FdType.REG.code()) {
                    held.add(new FileLocksDump.Held(t.pid, s.fd(), s.desc().id, s.live().fdinfo()));
                }
            }
        }
        List<FileLockEntry> locks = FileLocksDump.of(held);
        if (!locks.isEmpty()) {
            List<ImageEntry> le = new ArrayList<>();
            locks.forEach(l -> le.add(ImageEntry.of(l)));
            sink.set(Magic.FILE_LOCKS, le);
        }
        for (Desc d : descs) {
            if (d.entry != null) {
                files.add(d.entry);
            }
        }
        files.sort(Comparator.comparingLong(f -> Integer.toUnsignedLong(f.getId())));
        List<ImageEntry> fe = new ArrayList<>();
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        sink.set(Magic.FILES, fe);
        sink.set(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder().setImgVersion(2)
                .setFdinfoPerId(true).setRootIds(rootIds).setNsPerId(true).setLsmtype(0).build())));
    }

    /**
     * Whether process {@code pid} exec'd a program of its own, rather than being a forked copy of its parent
     * that never exec'd: its executable (/proc/PID/exe) or its command line differs from its parent's. A
     * restore with --exec runs the recorded command only for such a task. Limits: a child that exec'd its
     * parent's program with the same arguments counts as forked (it holds its fds; running it would start
     * the same program again anyway); a forked child that rewrote its command line (setproctitle) counts as
     * exec'd. A parent that is gone or unreadable counts as different.
     */
    private boolean execd(int pid, int ppid, List<byte[]> argv) {
        try {
            if (ppid <= 0 || !proc.link(pid, "exe").equals(proc.link(ppid, "exe"))) {
                return true;
            }
            List<byte[]> parent = proc.nulSeparated(ppid, "cmdline");
            if (parent.size() != argv.size()) {
                return true;
            }
            for (int i = 0; i < argv.size(); i++) {
                if (!java.util.Arrays.equals(parent.get(i), argv.get(i))) {
                    return true;
                }
            }
            return false;
        } catch (DumpException e) {
            return true;
        }
    }

    private TaskKobjIdsEntry ids(Task t, Map<String, Long> nsIds) throws DumpException {
        TaskKobjIdsEntry.Builder b = TaskKobjIdsEntry.newBuilder().setVmId((int) t.vmId).setFilesId((int) t.filesId)
                .setFsId((int) t.fsId).setSighandId((int) t.sighandId);
        String[] kinds = {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time"};
        for (String k : kinds) {
            String link;
            try {
                link = proc.link(t.pid, "ns/" + k);
            } catch (DumpException e) {
                continue; // a namespace kind this kernel does not have
            }
            long id = nsIds.computeIfAbsent(link, x -> (long) nsIds.size() + 1);
            switch (k) {
                case "pid" -> b.setPidNsId((int) id);
                case "net" -> b.setNetNsId((int) id);
                case "ipc" -> b.setIpcNsId((int) id);
                case "uts" -> b.setUtsNsId((int) id);
                case "mnt" -> b.setMntNsId((int) id);
                case "user" -> b.setUserNsId((int) id);
                case "cgroup" -> b.setCgroupNsId((int) id);
                default -> b.setTimeNsId((int) id);
            }
        }
        return b.build();
    }

    private CoreEntry core(Task t) throws DumpException {
        long personality = 0;
        try {
            personality = Long.parseLong(proc.readString(t.pid, "personality").trim(), 16);
        } catch (NumberFormatException e) {
            // keep 0
        }
        String sigblk = proc.status(t.pid, "SigBlk");
        long blk = sigblk == null ? 0 : Long.parseUnsignedLong(sigblk, 16);
        TaskCoreEntry tc = TaskCoreEntry.newBuilder()
                .setTaskState(t.wasStopped ? 3 : 1) // CRIU: 1 alive, 3 stopped
                .setExitCode(0).setPersonality((int) personality).setFlags((int) t.stat.flags())
                .setBlkSigset(blk).setComm(t.stat.comm()).build();
        return CoreEntry.newBuilder().setMtype(1).setTc(tc).build(); // 1: X86_64
    }

    /** A regular-file entry for a task's cwd or root directory (fs-PID.img names them by id). */
    private long dirEntry(Task t, String which) throws DumpException {
        String path = proc.link(t.pid, which);
        int mode = Linux.S_IFDIR | 0755;
        try {
            Object m = Files.getAttribute(proc.dir(t.pid).resolve(which), "unix:mode");
            mode = ((Number) m).intValue();
        } catch (IOException | RuntimeException e) {
            // keep the default
        }
        long id = nextId++;
        files.add(FileEntry.newBuilder().setType(fdrestore.core.image.FdType.REG.code()).setId((int) id)
                .setReg(RegFileEntry.newBuilder().setId((int) id).setFlags(0).setPos(0)
                        .setFown(FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0))
                        .setName(path).setMode(mode))
                .build());
        return id;
    }

    /** The written set must pass the strict codec and the validation a restore runs. */
    private static void selfCheck(Path dir) throws DumpException, IOException {
        List<String> problems = StrictCheck.checkDir(dir);
        if (!problems.isEmpty()) {
            throw new DumpException("the dumped images fail the strict CRIU check (a plugin bug): "
                    + String.join("; ", problems));
        }
        try {
            ImageSet.open(dir);
        } catch (IOException e) {
            throw new DumpException("the dumped images do not validate (a plugin bug): " + e.getMessage(), e);
        }
    }

    private void closeAll() {
        for (int fd : ownedFds) {
            Sys.closeQuietly(fd);
        }
        ownedFds.clear();
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
        return new DumpResult(options.pid(), target, ts, perKind, List.copyOf(skipped), List.copyOf(notes),
                options.freeze(), frozen, ns);
    }
}
