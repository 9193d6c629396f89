package fdrestore.core.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileKind;
import fdrestore.api.sys.Sys;
import fdrestore.core.restore.RunJournal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dump core on real process trees, with a test kind that records every fd as a regular file. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DumperTest {
    private final List<Tree> trees = new ArrayList<>();

    @TempDir
    Path tmp;

    /** A cgroup v2 a test made for its tree ({@link #cgroupOf}); killed and removed after the test. */
    private Path cgroup;

    @AfterEach
    void killTrees() throws Exception {
        trees.forEach(Tree::close);
        if (cgroup != null) {
            Files.writeString(cgroup.resolve("cgroup.freeze"), "0");
            Files.writeString(cgroup.resolve("cgroup.kill"), "1");
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (Files.readString(cgroup.resolve("cgroup.events")).contains("populated 1")
                    && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Files.delete(cgroup);
        }
    }

    private Tree start(String script) throws IOException {
        Tree t = Tree.start(script);
        trees.add(t);
        return t;
    }

    /**
     * Moves {@code pids} into a new cgroup v2 of their own, under this JVM's (as a restore's tree cgroup is
     * made); the test is skipped, with the reason, where no cgroup with a {@code cgroup.freeze} can be made.
     */
    private Path cgroupOf(List<Integer> pids) throws IOException {
        Path parent = fdrestore.core.restore.TreeCgroup.ownCgroup();
        org.junit.jupiter.api.Assumptions.assumeTrue(parent != null && Files.isWritable(parent),
                "no writable cgroup v2 here (" + parent + ")");
        Path cg;
        try {
            cg = Files.createDirectory(parent.resolve("fdrestore-dumptest-" + ProcessHandle.current().pid() + "-"
                    + System.nanoTime()));
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("cannot make a cgroup under " + parent + ": " + e);
            throw e;
        }
        cgroup = cg;
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(cg.resolve("cgroup.freeze")),
                "the cgroup v2 here has no cgroup.freeze (kernel before 5.2)");
        for (int p : pids) {
            Files.writeString(cg.resolve("cgroup.procs"), Integer.toString(p));
        }
        return cg;
    }

    private static boolean cgroupFrozen(Path cg) throws IOException {
        return Files.readString(cg.resolve("cgroup.events")).contains("frozen 1");
    }

    private DumpResult dump(Tree t, Path dir, boolean freeze, boolean skip, FileKind... kinds) throws Exception {
        return new Dumper(List.of(kinds), new Dumper.Options(t.pid(), dir, freeze, skip)).runDir(tmp.resolve("runs")).run();
    }

    /** Two files, a dup, a cloexec fd, a child that inherits them and opens its own. */
    static final String SHARING = String.join("\n",
            "a = os.open('/dev/null', os.O_RDONLY)",
            "b = os.open('/dev/null', os.O_RDONLY)",
            "os.dup2(a, 40)",
            "c = os.open('/dev/zero', os.O_RDONLY | os.O_CLOEXEC)",
            "pid = os.fork()",
            "if pid == 0:",
            "    os.open('/dev/full', os.O_WRONLY)",
            "    time.sleep(1000)",
            "time.sleep(0.2)",
            "serve('%d %d %d' % (pid, a, b))");

    @Test
    void sharedDescriptionsAreGroupedAndTheTreeIsRecorded() throws Exception {
        Tree t = start(SHARING);
        Path dir = tmp.resolve("out");
        DumpResult r = dump(t, dir, false, false, new AnyFileKind());
        String[] w = t.ready.split(" ");
        int child = Integer.parseInt(w[1]);
        int a = Integer.parseInt(w[2]);
        int b = Integer.parseInt(w[3]);

        assertEquals(List.of(), StrictCheck.checkDir(dir), "the dump passes the strict CRIU check");
        ImageSet set = ImageSet.open(dir);
        assertEquals(List.of(t.pid(), child), set.tasks().stream().map(ImageSet.Task::pid).toList());
        ImageSet.Task root = set.root();
        ImageSet.Task kid = set.task(child).orElseThrow();
        assertEquals(0, root.ppid());
        assertEquals(t.pid(), kid.ppid());
        assertEquals(t.pid(), root.sid(), "the scenario called setsid");
        assertEquals(t.pid(), kid.pgid());
        assertEquals("python3", kid.comm());
        assertNotEquals(root.filesId(), kid.filesId(), "a forked child has its own fd table");

        long fileA = fileOf(root, a);
        assertEquals(fileA, fileOf(root, 40), "dup2 shares the description");
        assertNotEquals(fileA, fileOf(root, b), "a second open is another description");
        assertEquals(fileA, fileOf(kid, 40), "the child inherited the description");
        ImageSet.Fd zero = root.fds().stream().filter(f -> name(set, f).equals("/dev/zero")).findFirst().orElseThrow();
        assertTrue(zero.cloexec(), "O_CLOEXEC is the fd's FD_CLOEXEC");
        assertFalse(root.fds().stream().anyMatch(f -> name(set, f).equals("/dev/full")), "only the child opened /dev/full");
        assertTrue(kid.fds().stream().anyMatch(f -> name(set, f).equals("/dev/full")));
        assertEquals(2, r.tasks().size());

        FdrTaskEntry fdr = set.fdrTask(t.pid()).orElseThrow();
        assertTrue(fdr.getArgv(0).toStringUtf8().endsWith("python3"), fdr.getArgv(0).toStringUtf8());
        assertTrue(fdr.getEnvCount() > 0);
        assertEquals(Files.readSymbolicLink(Path.of("/proc/" + t.pid() + "/cwd")).toString(), fdr.getCwd().toStringUtf8());
        assertTrue(root.fs() != null && set.file(root.fs().getCwdId()).orElseThrow().getReg().getName().startsWith("/"));
    }

    private static String name(ImageSet set, ImageSet.Fd fd) {
        return set.file(fd.fileId()).orElseThrow().getReg().getName();
    }

    private static long fileOf(ImageSet.Task t, int fd) {
        return t.fds().stream().filter(f -> f.fd() == fd).findFirst().orElseThrow().fileId();
    }

    @Test
    void threadsAreRecorded() throws Exception {
        Tree t = start("import threading\nthreading.Thread(target=lambda: time.sleep(1000), daemon=True).start()\nserve()");
        Path dir = tmp.resolve("out");
        dump(t, dir, false, false, new AnyFileKind());
        assertEquals(2, ImageSet.open(dir).root().threads().size());
    }

    @Test
    void manyFdsOnFewDescriptionsAreGroupedBySorting() throws Exception {
        Tree t = start(String.join("\n",
                "fs = [os.open('/dev/null', os.O_RDONLY) for _ in range(3)]",
                "for i in range(300): os.dup2(fs[i % 3], 100 + i)",
                "serve()"));
        Path dir = tmp.resolve("out");
        dump(t, dir, false, false, new AnyFileKind());
        ImageSet set = ImageSet.open(dir);
        Set<Long> ids = new HashSet<>();
        for (ImageSet.Fd f : set.root().fds()) {
            if (f.fd() >= 100) {
                ids.add(f.fileId());
            }
        }
        assertEquals(3, ids.size(), "300 fds on 3 open files");
        assertEquals(set.sharers(fileOf(set.root(), 100)).size(), set.sharers(fileOf(set.root(), 103)).size());
    }

    @Test
    void aPidThatDoesNotExistIsNamed() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Dumper d = new Dumper(List.of(), new Dumper.Options((int) p.pid(), tmp.resolve("x"), false, false));
        DumpException e = assertThrows(DumpException.class, d::run);
        assertEquals("no process " + p.pid() + " (there is no /proc/" + p.pid() + ")", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void aNonEmptyTargetIsRefusedAndKept() throws Exception {
        Tree t = start("serve()");
        Path dir = tmp.resolve("full");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("keep"), "mine");
        DumpException e = assertThrows(DumpException.class, () -> dump(t, dir, false, false, new AnyFileKind()));
        assertTrue(e.getMessage().contains("is not empty"), e.getMessage());
        assertEquals("mine", Files.readString(dir.resolve("keep")));
    }

    @Test
    void anEmptyTargetDirectoryIsFilled() throws Exception {
        Tree t = start("serve()");
        Path dir = tmp.resolve("empty");
        Files.createDirectories(dir);
        dump(t, dir, false, false, new AnyFileKind());
        assertTrue(Files.exists(dir.resolve("pstree.img")));
    }

    @Test
    void fdrestoreRefusesToDumpItsOwnAncestors() {
        int parent = (int) ProcessHandle.current().parent().orElseThrow().pid();
        Dumper d = new Dumper(List.of(), new Dumper.Options(parent, tmp.resolve("x"), true, false));
        DumpException e = assertThrows(DumpException.class, d::run);
        assertTrue(e.getMessage().contains("fdrestore itself or one of its ancestors"), e.getMessage());
    }

    @Test
    void aKindNoPluginDumpsFailsNamingTheFdUnlessSkipped() throws Exception {
        Tree t = start("e = os.eventfd(3)\nserve(str(e))");
        int efd = Integer.parseInt(t.ready.split(" ")[1]);
        Path dir = tmp.resolve("out");
        AnyFileKind onlyPaths = new AnyFileKind(f -> !f.link().startsWith("anon_inode:"), ctx -> { });
        DumpException e = assertThrows(DumpException.class, () -> dump(t, dir, false, false, onlyPaths));
        assertTrue(e.getMessage().contains("task " + t.pid() + " fd " + efd + " (anon_inode:[eventfd]): no plugin dumps"
                + " eventfd files"), e.getMessage());
        assertTrue(e.getMessage().contains("--skip-unknown"), e.getMessage());
        assertFalse(Files.exists(dir));

        DumpResult r = dump(t, dir, false, true, onlyPaths);
        assertTrue(r.skipped().stream().anyMatch(s -> s.fd() == efd && s.link().equals("anon_inode:[eventfd]")
                && s.reason().contains("eventfd")), r.skipped().toString());
        ImageSet set = ImageSet.open(dir);
        assertTrue(set.root().fds().stream().noneMatch(f -> f.fd() == efd), "a skipped fd is not in the images");
        assertEquals(1, r.skipped().size(), r.skipped().toString());
    }

    /**
     * A kind whose entries name other fds (an epoll) is dumped after every other kind, so it sees which fds
     * --skip-unknown left out even when one of them is skipped only while it is dumped.
     */
    @Test
    void kindsThatNameOtherFdsAreDumpedOnceEverySkipIsSettled() throws Exception {
        Path a = Files.writeString(tmp.resolve("a"), "a");
        Path b = Files.writeString(tmp.resolve("b"), "b");
        Tree t = start("fa = os.open('" + a + "', os.O_RDONLY)\nfb = os.open('" + b + "', os.O_RDONLY)\n"
                + "serve('%d %d' % (fa, fb))");
        String[] w = t.ready.split(" ");
        int fa = Integer.parseInt(w[1]);
        int fb = Integer.parseInt(w[2]);
        List<String> seen = new ArrayList<>();
        AnyFileKind names = new AnyFileKind(f -> f.link().equals(a.toString()),
                ctx -> seen.add("fd " + fb + " " + (ctx.fileIdOf(fb).isPresent() ? "dumped" : "left out"))) {
            @Override
            public boolean namesOtherFds() {
                return true;
            }

            @Override
            public java.util.Set<fdrestore.api.image.FdType> fdTypes() {
                return java.util.Set.of(fdrestore.api.image.FdType.BPFMAP); // REG is restored by 'rest' alone
            }
        };
        AnyFileKind unsupported = new AnyFileKind(f -> f.link().equals(b.toString()), ctx -> {
            throw DumpException.unsupported("cannot express this");
        }) {
            @Override
            public java.util.Set<fdrestore.api.image.FdType> fdTypes() {
                return java.util.Set.of(fdrestore.api.image.FdType.TUNF);
            }
        };
        AnyFileKind rest = new AnyFileKind(f -> !f.link().equals(a.toString()) && !f.link().equals(b.toString()),
                ctx -> { });
        assertTrue(fa < fb, "the naming kind's fd comes first, so pstree order alone would dump it first");
        DumpResult r = dump(t, tmp.resolve("out"), false, true, names, unsupported, rest);
        assertEquals(List.of("fd " + fb + " left out"), seen);
        assertEquals(fb, r.skipped().get(0).fd());
    }

    @Test
    void aFailedDumpLeavesNothingBehind() throws Exception {
        Tree t = start("serve()");
        Path dir = tmp.resolve("out");
        AnyFileKind failing = new AnyFileKind(f -> true, ctx -> {
            if (ctx.fd() == 1) {
                throw new DumpException("boom");
            }
        });
        DumpException e = assertThrows(DumpException.class, () -> dump(t, dir, false, false, failing));
        assertTrue(e.getMessage().startsWith("task " + t.pid() + " fd 1 ("), e.getMessage());
        assertTrue(e.getMessage().endsWith(": boom"), e.getMessage());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.toList(), "no partial set and no temporary directory");
        }
    }

    @Test
    void anUnsupportedStateIsSkippableAndOtherFailuresAreNot() throws Exception {
        Tree t = start("serve()");
        AnyFileKind unsupported = new AnyFileKind(f -> true, ctx -> {
            if (ctx.fd() == 1) {
                throw DumpException.unsupported("cannot express this");
            }
        });
        DumpException e = assertThrows(DumpException.class, () -> dump(t, tmp.resolve("a"), false, false, unsupported));
        assertTrue(e.getMessage().contains("cannot express this (--skip-unknown leaves it out"), e.getMessage());
        DumpResult r = dump(t, tmp.resolve("b"), false, true, unsupported);
        assertEquals(1, r.skipped().size());
        assertEquals("any: cannot express this", r.skipped().get(0).reason());
    }

    @Test
    void aProcessThatExitsDuringTheDumpIsReported() throws Exception {
        Tree t = start("serve()");
        AnyFileKind killer = new AnyFileKind(f -> true, ctx -> {
            if (!t.process.isAlive()) {
                return;
            }
            try {
                Sys.kill(ctx.pid(), 9);
                t.process.waitFor();
            } catch (Exception x) {
                throw new DumpException("kill: " + x);
            }
        });
        Path dir = tmp.resolve("out");
        DumpException e = assertThrows(DumpException.class, () -> dump(t, dir, false, false, killer));
        assertEquals("process " + t.pid() + " exited during the dump (nothing was written; --freeze stops the tree"
                + " while it is dumped)", e.getMessage());
        assertFalse(Files.exists(dir));
    }

    @Test
    void anFdClosedDuringTheDumpIsReported() throws Exception {
        Tree t = start("x = os.open('/dev/null', os.O_RDONLY)\nserve(str(x))");
        int x = Integer.parseInt(t.ready.split(" ")[1]);
        ProcFs racing = new ProcFs() {
            @Override
            String fdLink(int pid, int fd) throws DumpException {
                String link = super.fdLink(pid, fd);
                if (pid == t.pid() && fd == x) {
                    try {
                        assertEquals("closed", t.command("close " + x));
                    } catch (IOException e) {
                        throw new DumpException("command: " + e);
                    }
                }
                return link;
            }
        };
        Path dir = tmp.resolve("out");
        Dumper d = new Dumper(List.of(new AnyFileKind()), new Dumper.Options(t.pid(), dir, false, false), racing);
        DumpException e = assertThrows(DumpException.class, d::run);
        assertEquals("task " + t.pid() + " fd " + x + " (/dev/null) was closed during the dump (--freeze stops the"
                + " tree while it is dumped)", e.getMessage());
        assertFalse(Files.exists(dir));
    }

    /** Issue 22 item 3: the dump plans what it wrote (plan only) and fails rather than leave a set that would not restore. */
    @Test
    void aDumpWhoseSetWouldNotPlanFailsAndLeavesNothing() throws Exception {
        Tree t = start("serve('')");
        AnyFileKind kind = new AnyFileKind();
        kind.refusePlan = true;
        Path dir = tmp.resolve("out");
        DumpException e = assertThrows(DumpException.class, () -> dump(t, dir, false, false, kind));
        assertTrue(e.getMessage().startsWith("the dumped images would not restore (their plan fails, so nothing was "
                + "written): ") && e.getMessage().contains("test kind: refuses to plan"), e.getMessage());
        assertFalse(Files.exists(dir));
        try (java.util.stream.Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".dump-")).toList(),
                    "no temporary set is left");
        }
        kind.refusePlan = false;
        DumpResult r = dump(t, dir, false, false, kind);
        assertTrue(r.tasks().size() == 1 && Files.isDirectory(dir), "the same tree dumps once its set plans");
    }

    @Test
    void notPermittedIsExplained() {
        DumpException e = new ProcFs().translate(1, "fd", new AccessDeniedException("/proc/1/fd"));
        assertTrue(e.getMessage().startsWith("not permitted to dump process 1 (/proc/1/fd): dumping needs ptrace access"),
                e.getMessage());
    }

    @Test
    void aZombieChildIsLeftOutWithANote() throws Exception {
        Tree t = start("pid = os.fork()\nif pid == 0: os._exit(0)\ntime.sleep(0.3)\nserve(str(pid))");
        int zombie = Integer.parseInt(t.ready.split(" ")[1]);
        DumpResult r = dump(t, tmp.resolve("out"), false, false, new AnyFileKind());
        assertEquals(1, r.tasks().size());
        assertTrue(r.notes().stream().anyMatch(n -> n.startsWith("process " + zombie + " ") && n.contains("zombie")),
                r.notes().toString());
    }

    private static char state(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return s.charAt(s.lastIndexOf(')') + 2);
    }

    static final String TWO_LEVELS = String.join("\n",
            "pid = os.fork()",
            "if pid == 0:",
            "    if os.fork() == 0: time.sleep(1000)",
            "    time.sleep(1000)",
            "time.sleep(0.3)",
            "serve()");

    @Test
    void freezeStopsEveryTaskDuringTheDumpAndResumesThem() throws Exception {
        Tree t = start(TWO_LEVELS);
        List<Integer> pids = t.pids();
        assertEquals(3, pids.size());
        List<Character> during = new ArrayList<>();
        AnyFileKind watch = new AnyFileKind(f -> true, ctx -> {
            if (during.isEmpty()) {
                for (int p : pids) {
                    try {
                        during.add(state(p));
                    } catch (IOException e) {
                        throw new DumpException(e.toString());
                    }
                }
            }
        });
        DumpResult r = dump(t, tmp.resolve("out"), true, false, watch);
        assertEquals(List.of('t', 't', 't'), during, "held in a ptrace stop, not a group stop");
        for (int p : pids) {
            assertFalse("Tt".indexOf(state(p)) >= 0, "task " + p + " was resumed");
        }
        assertEquals(pids.stream().sorted().toList(), r.resumed());
        assertTrue(t.process.isAlive(), "the JVM still sees its child alive");
    }

    /**
     * A parent that logs SIGCHLD and waits for its child with WUNTRACED|WCONTINUED (as nginx's master does)
     * sees nothing of a --freeze dump: a SIGSTOP-based freeze made it log, and its log then outgrew the
     * size the dump recorded.
     */
    @Test
    void freezeIsInvisibleToAParentThatWatchesItsChildren() throws Exception {
        Path events = tmp.resolve("events");
        Files.writeString(events, "");
        Tree t = start(watchingParent(events));
        assertEquals(2, t.pids().size());
        DumpResult r = dump(t, tmp.resolve("out"), true, false, new AnyFileKind());
        assertEquals(t.pids().stream().sorted().toList(), r.resumed());
        assertEquals(2, ImageSet.open(tmp.resolve("out")).task(t.pid()).orElseThrow().threads().size(),
                "both threads of the parent were held and recorded");
        Thread.sleep(300); // a SIGCHLD or a wait status would be logged by now
        assertEquals("", Files.readString(events), "the parent saw the freeze");
        assertEquals("pong", t.command("ping"), "the parent runs on");
    }

    /**
     * Issue 22: a tree alone in its cgroup v2 is held by the cgroup freezer (no ptrace stop, no SIGCHLD, no
     * wait status for the parent that watches its child), and the cgroup is thawed after the dump.
     */
    @Test
    void aTreeAloneInItsCgroupIsFrozenWithTheCgroupFreezer() throws Exception {
        Path events = tmp.resolve("events");
        Files.writeString(events, "");
        Tree t = start(watchingParent(events));
        List<Integer> pids = t.pids();
        assertEquals(2, pids.size());
        Path cg = cgroupOf(pids);
        List<String> during = new ArrayList<>();
        AnyFileKind watch = new AnyFileKind(f -> true, ctx -> {
            if (during.isEmpty()) {
                try {
                    during.add("frozen " + cgroupFrozen(cg));
                    for (int p : pids) {
                        during.add(p + " " + state(p));
                    }
                } catch (IOException e) {
                    throw new DumpException(e.toString());
                }
            }
        });
        DumpResult r = dump(t, tmp.resolve("out"), true, false, watch);
        assertEquals("frozen true", during.get(0), "the cgroup was frozen during the dump: " + during);
        for (String d : during.subList(1, during.size())) {
            assertFalse(d.endsWith(" t"), "held by the cgroup, not by a ptrace stop: " + during);
        }
        assertFalse(cgroupFrozen(cg), "thawed after the dump");
        assertEquals("0", Files.readString(cg.resolve("cgroup.freeze")).trim());
        assertEquals(pids.stream().sorted().toList(), r.resumed());
        assertEquals("cgroup " + cg, r.freezer());
        assertEquals(2, ImageSet.open(tmp.resolve("out")).tasks().size());
        Thread.sleep(300); // a SIGCHLD or a wait status would be logged by now
        assertEquals("", Files.readString(events), "the parent saw the freeze");
        assertEquals("pong", t.command("ping"), "the parent runs on");
    }

    @Test
    void aFailedDumpThawsTheCgroup() throws Exception {
        Tree t = start(TWO_LEVELS);
        Path cg = cgroupOf(t.pids());
        boolean[] frozenDuring = new boolean[1];
        AnyFileKind failing = new AnyFileKind(f -> true, ctx -> {
            try {
                frozenDuring[0] = cgroupFrozen(cg);
            } catch (IOException e) {
                throw new DumpException(e.toString());
            }
            throw new DumpException("fails while frozen");
        });
        assertThrows(DumpException.class, () -> dump(t, tmp.resolve("out"), true, false, failing));
        assertTrue(frozenDuring[0], "the cgroup freezer held the tree");
        assertFalse(cgroupFrozen(cg), "thawed after the failure");
        assertEquals("pong", t.command("ping"));
    }

    /** A process of the cgroup outside the tree: the cgroup is not frozen (it would stop a stranger); ptrace is. */
    @Test
    void aTreeThatSharesItsCgroupIsFrozenWithPtrace() throws Exception {
        Tree t = start(TWO_LEVELS);
        Tree stranger = start("serve()");
        List<Integer> pids = t.pids();
        List<Integer> all = new ArrayList<>(pids);
        all.add(stranger.pid());
        Path cg = cgroupOf(all);
        List<Character> during = new ArrayList<>();
        boolean[] frozenDuring = new boolean[1];
        AnyFileKind watch = new AnyFileKind(f -> true, ctx -> {
            if (during.isEmpty()) {
                try {
                    frozenDuring[0] = cgroupFrozen(cg);
                    for (int p : pids) {
                        during.add(state(p));
                    }
                } catch (IOException e) {
                    throw new DumpException(e.toString());
                }
            }
        });
        assertEquals("ptrace", dump(t, tmp.resolve("out"), true, false, watch).freezer());
        assertFalse(frozenDuring[0], "the shared cgroup was not frozen");
        assertEquals(List.of('t', 't', 't'), during, "held in a ptrace stop");
        assertEquals("pong", stranger.command("ping"));
    }

    /**
     * The cgroup freezer's watchdog: a dump killed with SIGKILL while the tree's cgroup is frozen (no hook,
     * no finally runs) leaves it thawed within 2 s.
     */
    @Test
    void aDumpKilledWhileTheCgroupIsFrozenLeavesItThawed() throws Exception {
        Tree t = start(TWO_LEVELS);
        Path cg = cgroupOf(t.pids());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), FreezeAndWait.class.getName(), "--cgroup",
                Integer.toString(t.pid()), tmp.resolve("runs").toString()));
        Process dumper = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(dumper.getInputStream()))) {
            String line = out.readLine();
            assertEquals("frozen cgroup " + cg, line, "the cgroup freezer was used");
            assertTrue(cgroupFrozen(cg));
            dumper.destroyForcibly(); // SIGKILL: no hook, no finally
            dumper.waitFor();
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (cgroupFrozen(cg) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertFalse(cgroupFrozen(cg), "the watchdog thawed the cgroup within 2 s of the SIGKILL");
        assertEquals("pong", t.command("ping"));
    }

    /**
     * Both the dump and its watchdog killed with SIGKILL: the cgroup stays frozen, and the journal the dump
     * wrote before the freeze lets {@code fdrestore cleanup} thaw it (and only once: a second cleanup finds
     * nothing). Without a run directory the cgroup freezer is not used at all.
     */
    @Test
    void aCgroupLeftFrozenByADeadDumpAndWatchdogIsThawedByCleanup() throws Exception {
        Tree t = start(TWO_LEVELS);
        Path cg = cgroupOf(t.pids());
        Path runs = tmp.resolve("runs");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process unjournaled = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                FreezeAndWait.class.getName(), "--cgroup", Integer.toString(t.pid()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(unjournaled.getInputStream()))) {
            assertEquals("not frozen: no run directory to journal the freeze in", out.readLine());
        } finally {
            unjournaled.destroyForcibly();
            unjournaled.waitFor();
        }
        Process dumper = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                FreezeAndWait.class.getName(), "--cgroup", Integer.toString(t.pid()), runs.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(dumper.getInputStream()))) {
            assertEquals("frozen cgroup " + cg, out.readLine());
            String freeze = cg.resolve("cgroup.freeze").toString();
            List<ProcessHandle> watchdogs = ProcessHandle.allProcesses()
                    .filter(p -> p.info().arguments().map(a -> List.of(a).contains(freeze)).orElse(false)).toList();
            assertEquals(1, watchdogs.size(), "one watchdog watches " + freeze);
            watchdogs.get(0).destroyForcibly(); // SIGKILL, first: it would thaw on the dump's death
            watchdogs.get(0).onExit().get();
            dumper.destroyForcibly();
            dumper.waitFor();
        }
        Thread.sleep(200);
        assertTrue(cgroupFrozen(cg), "nothing was left to thaw it");
        List<RunJournal.Cleaned> done = RunJournal.cleanup(runs);
        assertTrue(done.stream().anyMatch(c -> c.removed() && c.line().contains("thawed cgroup " + cg)), done.toString());
        assertFalse(cgroupFrozen(cg));
        assertEquals("pong", t.command("ping"));
        assertTrue(RunJournal.cleanup(runs).stream().noneMatch(c -> c.line().contains(cg.toString())),
                "the dead run's journal is gone");
    }

    /** A parent that logs SIGCHLD and every wait status (WUNTRACED, WCONTINUED) of its one child to {@code events}. */
    private static String watchingParent(Path events) {
        return String.join("\n",
                "import signal, threading",
                "events = open('" + events + "', 'a', buffering=1)",
                "signal.signal(signal.SIGCHLD, lambda s, f: events.write('SIGCHLD\\n'))",
                "pid = os.fork()",
                "if pid == 0: time.sleep(1000)",
                "def waiter():",
                "    while True:",
                "        p, st = os.waitpid(pid, os.WUNTRACED | os.WCONTINUED)",
                "        events.write('waitpid %d\\n' % st)",
                "threading.Thread(target=waiter, daemon=True).start()",
                "time.sleep(0.3)",
                "serve()");
    }

    /** The kernel detaches a dead tracer's tracees: a dump killed with SIGKILL leaves no task stopped. */
    @Test
    void aDumpKilledWhileTheTreeIsFrozenLeavesItRunning() throws Exception {
        Tree t = start(TWO_LEVELS);
        List<Integer> pids = t.pids();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), FreezeAndWait.class.getName()));
        pids.forEach(p -> cmd.add(Integer.toString(p)));
        Process dumper = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(dumper.getInputStream()))) {
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("frozen"), "the freezer started: " + line);
            for (int p : pids) {
                assertEquals('t', state(p), "task " + p + " is held");
            }
            dumper.destroyForcibly(); // SIGKILL: no hook, no finally
            dumper.waitFor();
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (int p : pids) {
            while ("Tt".indexOf(state(p)) >= 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertFalse("Tt".indexOf(state(p)) >= 0, "task " + p + " runs again within 2 s of the SIGKILL");
        }
        assertEquals("pong", t.command("ping"));
    }

    @Test
    void freezeResumesTheTreeWhenTheDumpFails() throws Exception {
        Tree t = start(TWO_LEVELS);
        List<Integer> pids = t.pids();
        AnyFileKind failing = new AnyFileKind(f -> true, ctx -> {
            throw new DumpException("fails while frozen");
        });
        assertThrows(DumpException.class, () -> dump(t, tmp.resolve("out"), true, false, failing));
        for (int p : pids) {
            assertFalse("Tt".indexOf(state(p)) >= 0, "task " + p + " was resumed after the failure");
        }
    }

    @Test
    void freezeLeavesATaskThatWasAlreadyStoppedStopped() throws Exception {
        Tree t = start(TWO_LEVELS);
        List<Integer> pids = t.pids();
        int stopped = pids.get(2);
        Sys.kill(stopped, 19);
        while (state(stopped) != 'T') {
            Thread.sleep(1);
        }
        DumpResult r = dump(t, tmp.resolve("out"), true, false, new AnyFileKind());
        assertEquals('T', state(stopped), "stopped before the dump, stopped after");
        assertNotEquals('T', state(pids.get(0)));
        assertFalse(r.resumed().contains(stopped));
        assertEquals(3, ImageSet.open(tmp.resolve("out")).tasks().size());
        assertEquals(1, ImageSet.open(tmp.resolve("out")).task(stopped).orElseThrow().ppid() == pids.get(1) ? 1 : 0);
        Sys.kill(stopped, 18);
    }

    @Test
    void theReportIsJsonReady() throws Exception {
        Tree t = start("serve()");
        DumpResult r = dump(t, tmp.resolve("out"), false, false, new AnyFileKind());
        String json = fdrestore.core.json.Json.compact(r.toJson());
        assertTrue(json.contains("\"pid\":" + t.pid()), json);
        assertTrue(json.contains("\"filesPerKind\":{\"any\":"), json);
        assertTrue(new String(Files.readAllBytes(tmp.resolve("out/pstree.img")), StandardCharsets.ISO_8859_1).length() > 8);
    }
}
