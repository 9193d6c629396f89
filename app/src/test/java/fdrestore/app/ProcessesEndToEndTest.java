package fdrestore.app;

import fdrestore.app.bench.SyntheticImages;
import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.testkit.Samples;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17 with real processes: what a restored task runs (a holder, exactly as the images say, by default;
 * its recorded command only with --exec, and only for a task that exec'd one), where it runs (its recorded
 * cwd), and that nothing outlives a restore that is stopped: --then=kill, SIGINT and SIGTERM during
 * --then=wait, the printed stop command of --detach and a failed restore, with commands that fork and
 * daemonize (double fork, setsid).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ProcessesEndToEndTest {
    private static final String PYTHON = new File("/usr/bin/python3").canExecute() ? "/usr/bin/python3" : "python3";

    @TempDir
    Path tmp;

    /** Live originals (killed after the dump) and every restored pid; cgroups of detached restores. */
    private final List<Process> originals = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();
    private final List<Path> cgroups = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (Process p : originals) {
            p.descendants().toList().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
            p.getInputStream().close();
            p.getOutputStream().close();
            p.getErrorStream().close();
        }
        for (Path cg : cgroups) {
            killCgroup(cg);
        }
        RestoredTasks.stop(restored);
    }

    // ------------------------------------------------------------------ helpers

    /** Starts {@code cmd} in {@code cwd} as a session of its own and waits until it has {@code tasks} processes. */
    private Process start(Path cwd, int tasks, String... cmd) throws Exception {
        List<String> c = new ArrayList<>(List.of("setsid"));
        c.addAll(List.of(cmd));
        Process p = new ProcessBuilder(c).directory(cwd.toFile()).redirectInput(new File("/dev/null"))
                .redirectOutput(new File("/dev/null")).redirectError(new File("/dev/null")).start();
        originals.add(p);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (1 + p.descendants().count() < tasks || !allSleeping(p)) {
            assertTrue(System.nanoTime() < deadline, "the scenario did not come up: " + cmd[cmd.length - 1]);
            Thread.sleep(50);
        }
        return p;
    }

    private static boolean allSleeping(Process p) {
        List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
        all.add(p.toHandle());
        for (ProcessHandle h : all) {
            try {
                String st = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
                if (st.charAt(st.lastIndexOf(')') + 2) != 'S') {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    /** fdrestore dump --freeze of the live tree, then the originals are killed (their sockets, pipes go). */
    private Path dump(Process p) throws Exception {
        Path images = tmp.resolve("images");
        // No --freeze: the scenario sleeps, and p is this JVM's child, whose ptrace stop the JVM's process
        // reaper would take for its exit (destroyForcibly below would then do nothing).
        CliRunner r = CliRunner.run("dump", "-t", Long.toString(p.pid()), "-D", images.toString());
        assertEquals(0, r.code, r.toString());
        p.descendants().toList().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor();
        return images;
    }

    /** restore --detach --verify --json; records the pids and the cgroup for clean-up. */
    @SuppressWarnings("unchecked")
    private CliRunner.Restored restore(Path images, Path root, String... extra) {
        CliRunner.Restored r = CliRunner.restoreDetached(restored, images, root, extra);
        Object cg = r.doc().get("cgroup");
        if (cg != null) {
            cgroups.add(Path.of(cg.toString()));
        }
        return r;
    }

    /** The processes of a detached restore: its cgroup's members (every descendant of every task). */
    private static List<Integer> members(CliRunner.Restored r) throws IOException {
        assumeTrue(r.doc().get("cgroup") != null, "no cgroup v2 with cgroup.kill can be made here (or "
                + "FDRESTORE_CGROUP=off): the subreaper fallback has no member list");
        Path cg = Path.of(String.valueOf(r.doc().get("cgroup")));
        List<Integer> out = new ArrayList<>();
        for (String l : Files.readAllLines(cg.resolve("cgroup.procs"))) {
            out.add(Integer.parseInt(l.trim()));
        }
        out.sort(null);
        return out;
    }

    private static void killCgroup(Path cg) throws Exception {
        if (!Files.exists(cg)) {
            return;
        }
        Files.writeString(cg.resolve("cgroup.kill"), "1");
        for (int i = 0; i < 200 && Files.readString(cg.resolve("cgroup.events")).contains("populated 1"); i++) {
            Thread.sleep(10);
        }
        Files.deleteIfExists(cg);
    }

    private static String cwd(int pid) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd")).toString();
    }

    private static String comm(int pid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/comm")).trim();
    }

    private static String cmdline(int pid) throws IOException {
        return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
                .replace('\0', ' ').trim();
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(h -> {
            try {
                String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
                return st.charAt(st.lastIndexOf(')') + 2) != 'Z';
            } catch (IOException e) {
                return false;
            }
        }).orElse(false);
    }

    /** The pids a daemonizing scenario wrote into {@code dir} (files named KIND-PID). */
    private static List<Long> written(Path dir) throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("(main|child|daemon)-[0-9]+"))
                    .forEach(n -> out.add(Long.parseLong(n.substring(n.indexOf('-') + 1))));
        }
        return out;
    }

    private static void awaitWritten(Path dir, int n) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (written(dir).size() < n) {
            assertTrue(System.nanoTime() < deadline, "the re-run command did not fork and daemonize: " + written(dir));
            Thread.sleep(20);
        }
    }

    /**
     * A python program that, run again with FLAG present (by --exec), forks a child and a daemon (double
     * fork, setsid), each writing KIND-PID into its directory; dumped without FLAG, it only sleeps.
     */
    private Path daemonizer() throws IOException {
        Path prog = tmp.resolve("daemons.py");
        Files.writeString(prog, String.join("\n",
                "import os, sys, time",
                "d = sys.argv[1]",
                "def mark(kind):",
                "    open(os.path.join(d, '%s-%d' % (kind, os.getpid())), 'w').close()",
                "if os.path.exists(os.path.join(d, 'go')):",
                "    if os.fork() == 0:",
                "        mark('child'); time.sleep(1000); os._exit(0)",
                "    if os.fork() == 0:",
                "        os.setsid()",
                "        if os.fork() == 0:",
                "            mark('daemon'); time.sleep(1000)",
                "        os._exit(0)",
                "    mark('main')",
                "time.sleep(1000)",
                ""));
        return prog;
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aPipelineRestoresAsItsThreeProcessesInItsCwdAndReRunsOnlyWhatExecd() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Process p = start(work, 3, "sh", "-c", "sleep 1000 | cat");
        Path images = dump(p);

        CliRunner.Restored held = restore(images, Path.of("/"));
        List<Integer> pids = members(held);
        assertEquals(3, pids.size(), "the shell and its two children, nothing re-run: " + pids);
        List<String> comms = new ArrayList<>();
        for (int pid : pids) {
            assertEquals(work.toRealPath().toString(), cwd(pid), "pid " + pid + " starts in its recorded cwd");
            assertTrue(cmdline(pid).contains("fdrestore-holder"), cmdline(pid));
            comms.add(comm(pid));
        }
        comms.sort(null);
        assertEquals(List.of("cat", "sh", "sleep"), comms);
        killCgroup(Path.of(held.doc().get("cgroup").toString()));

        // --exec: the shell has its children in the images, so it holds; sleep and cat exec'd: they run again
        CliRunner.Restored ran = restore(images, Path.of("/"), "--exec");
        Thread.sleep(200);
        List<String> lines = new ArrayList<>();
        for (int pid : members(ran)) {
            lines.add(cmdline(pid).contains("fdrestore-holder") ? "holder " + comm(pid) : cmdline(pid));
            assertEquals(work.toRealPath().toString(), cwd(pid));
        }
        lines.sort(null);
        assertEquals(List.of("cat", "holder sh", "sleep 1000"), lines);
    }

    @Test
    void aForkingPythonProgramHoldsEvenWithExecAndWritesNothing() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path data = work.resolve("data.txt");
        Path prog = work.resolve("prog.py");
        Files.writeString(prog, "import os, time\nopen('data.txt', 'a').write('started %d\\n' % os.getpid())\n"
                + "os.fork()\ntime.sleep(1000)\n");
        Process p = start(work, 2, PYTHON, prog.toString());
        Path images = dump(p);
        String before = Files.readString(data);

        for (String[] extra : new String[][] {{}, {"--exec"}}) {
            CliRunner.Restored r = restore(images, Path.of("/"), extra);
            Thread.sleep(300);
            List<Integer> pids = members(r);
            assertEquals(2, pids.size(), "the program and its fork, " + List.of(extra) + ": " + pids);
            for (int pid : pids) {
                assertTrue(cmdline(pid).contains("fdrestore-holder"), "the parent has its child in the images and "
                        + "the child never exec'd: both hold (" + List.of(extra) + "): " + cmdline(pid));
                assertEquals(work.toRealPath().toString(), cwd(pid));
            }
            killCgroup(Path.of(r.doc().get("cgroup").toString()));
        }
        assertEquals(before, Files.readString(data), "nothing ran the program again");
    }

    @Test
    void theServiceSampleRestoresItsFourTasksAndChangesNoFile() throws Exception {
        Path sample = Samples.root().resolve("fdrestore/service");
        Path root = tmp.resolve("root");
        copyTree(sample.resolve("root"), root);
        Map<String, String> tree = HardeningSupport.tree(root);
        CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--verify", "--then=kill",
                sample.resolve("images").toString());
        assertEquals(0, r.code, r.toString());
        assertTrue(r.out.contains("Stopped the restored tree (--then=kill): 4 processes."), r.out);
        CliRunner.Restored d = restore(sample.resolve("images"), root, "--exec");
        assertEquals(4, members(d).size());
        for (int pid : members(d)) {
            assertEquals(root.toRealPath().toString(), cwd(pid), "the sample's cwd is / under the root");
        }
        killCgroup(Path.of(d.doc().get("cgroup").toString()));
        assertEquals(tree, HardeningSupport.tree(root), "no file under --root changed");
    }

    @Test
    void theDetachStopCommandStopsCommandsThatForkedAndDaemonized() throws Exception {
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        Process p = start(tmp, 1, PYTHON, daemonizer().toString(), marks.toString());
        Path images = dump(p);
        Files.writeString(marks.resolve("go"), "");
        CliRunner.Restored r = restore(images, Path.of("/"), "--exec");
        awaitWritten(marks, 3);
        assumeTrue(r.doc().get("cgroup") != null, "no cgroup v2 with cgroup.kill can be made here: the subreaper "
                + "fallback's --detach command names the restored pids only (docs/ARCHITECTURE.md)");
        List<Long> pids = written(marks);
        pids.forEach(pid -> assertTrue(alive(pid), "pid " + pid + " runs before the stop"));
        Process stop = new ProcessBuilder("sh", "-c", r.doc().get("stopCommand").toString()).inheritIO().start();
        assertEquals(0, stop.waitFor(), "the printed stop command: " + r.doc().get("stopCommand"));
        for (long pid : pids) {
            assertFalse(alive(pid), "pid " + pid + " (" + written(marks) + ") outlived the printed stop command");
        }
        assertFalse(Files.exists(Path.of(r.doc().get("cgroup").toString())), "the stop command removes the cgroup");
    }

    @Test
    void thenKillLeavesNoDescendantOfACommand() throws Exception {
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        Process p = start(tmp, 1, PYTHON, daemonizer().toString(), marks.toString());
        Path images = dump(p);
        Files.writeString(marks.resolve("go"), "");
        CliRunner r = CliRunner.run("restore", "--exec", "--verify", "--then=kill", images.toString());
        assertEquals(0, r.code, r.toString());
        Thread.sleep(500); // a missed process would have written its mark by now
        for (long pid : written(marks)) {
            assertFalse(alive(pid), "pid " + pid + " outlived --then=kill");
        }
        assertTrue(r.out.contains("Stopped the restored tree"), r.out);
    }

    /** SIGINT and SIGTERM to a separate fdrestore JVM in --then=wait stop every descendant, and say so. */
    @Test
    void sigintAndSigtermDuringWaitStopEveryDescendant() throws Exception {
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        Process p = start(tmp, 1, PYTHON, daemonizer().toString(), marks.toString());
        Path images = dump(p);
        Files.writeString(marks.resolve("go"), "");
        for (int sig : new int[] {2, 15}) {
            try (Stream<Path> s = Files.list(marks)) {
                for (Path f : (Iterable<Path>) s::iterator) {
                    if (!f.getFileName().toString().equals("go")) {
                        Files.delete(f);
                    }
                }
            }
            Path err = tmp.resolve("err-" + sig);
            Process f = new ProcessBuilder(javaCommand("restore", "--exec", "--then=wait", images.toString()))
                    .redirectOutput(tmp.resolve("out-" + sig).toFile()).redirectError(err.toFile()).start();
            try {
                awaitWritten(marks, 3);
                List<Long> pids = written(marks);
                Sys.kill((int) f.pid(), sig);
                assertTrue(f.waitFor(30, TimeUnit.SECONDS), "fdrestore ended on signal " + sig);
                assertEquals(128 + sig, f.exitValue(), Files.readString(err));
                assertTrue(Files.readString(err).contains("Interrupted: stopped the restored tree"), Files.readString(err));
                assertFalse(Files.readString(err).contains("IllegalStateException"), Files.readString(err));
                for (long pid : pids) {
                    assertFalse(alive(pid), "pid " + pid + " outlived signal " + sig);
                }
            } finally {
                f.destroyForcibly();
                f.waitFor();
            }
        }
    }

    /**
     * Issue 23 item 1: SIGINT or SIGTERM to fdrestore while a 600-task tree is being built or right after it
     * is released (--then=kill, before its step) ends with every process of the restore gone and a message.
     */
    @Test
    void aSignalDuringOrRightAfterTheBuildStopsEverything() throws Exception {
        Path images = tmp.resolve("big");
        Path root = tmp.resolve("big-root");
        SyntheticImages.write(SyntheticImages.Spec.parse("600x4"), images, root);
        for (int sig : new int[] {2, 15}) {
            Path err = tmp.resolve("err-" + sig);
            Process f = new ProcessBuilder(javaCommand("restore", "--root", root.toString(), "--then=kill",
                    images.toString())).redirectOutput(tmp.resolve("out-" + sig).toFile()).redirectError(err.toFile())
                    .start();
            java.util.Set<Long> seen = new java.util.TreeSet<>();
            try {
                Path cg = null;
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (seen.size() < 50) { // signalled once 50 processes exist: the build is under way
                    assertTrue(System.nanoTime() < deadline && f.isAlive(), "the restore did not start building");
                    if (cg == null) {
                        try (Stream<Path> s = Files.list(fdrestore.core.restore.TreeCgroup.ownCgroup())) {
                            cg = s.filter(d -> d.getFileName().toString().startsWith("fdrestore-" + f.pid() + "-"))
                                    .findFirst().orElse(null);
                        }
                    }
                    if (cg != null) {
                        try {
                            for (String l : Files.readAllLines(cg.resolve("cgroup.procs"))) {
                                seen.add(Long.parseLong(l.trim()));
                            }
                        } catch (IOException gone) {
                            // the restore is over already
                            break;
                        }
                    }
                    Thread.sleep(2);
                }
                Sys.kill((int) f.pid(), sig);
                assertTrue(f.waitFor(60, TimeUnit.SECONDS), "fdrestore ended on signal " + sig);
                String e = Files.readString(err);
                assertTrue(e.contains("Interrupted"), e);
                assertFalse(e.contains("IllegalStateException"), e);
                Thread.sleep(100);
                List<Long> left = seen.stream().filter(ProcessesEndToEndTest::alive).toList();
                assertEquals(List.of(), left, "signal " + sig + " after " + seen.size() + " processes: " + e);
                assertFalse(cg != null && Files.exists(cg), "the cgroup is removed");
            } finally {
                f.destroyForcibly();
                f.waitFor();
            }
        }
    }

    /** A restore that fails (a process killed as it is made) leaves no process, even of a forking tree. */
    @Test
    void aFailedRestoreLeavesNoProcess() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Process p = start(work, 3, "sh", "-c", "sleep 1000 | cat");
        Path images = dump(p);
        List<Long> before = ours();
        CliRunner r = CliRunner.run("restore", "--exec", "--inject-fault", "spawn:2", images.toString());
        assertEquals(1, r.code, r.toString());
        Thread.sleep(200);
        List<String> left = new ArrayList<>();
        for (long pid : ours()) {
            if (!before.contains(pid) && alive(pid)) { // a zombie left to init (which reaps when it will) has ended
                try {
                    left.add(Files.readString(Path.of("/proc/" + pid + "/stat")).trim() + " " + cmdline((int) pid));
                } catch (IOException gone) {
                    // ended since
                }
            }
        }
        assertEquals(List.of(), left, "no holder and no command is left: " + r);
        assertTrue(r.err.contains("nothing was left behind"), r.err);
    }

    /** This JVM's children, and every process in a cgroup this JVM made (fdrestore-<its pid>-*). */
    private static List<Long> ours() {
        long me = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses().filter(h -> h.parent().map(pp -> pp.pid() == me).orElse(false)
                || inCgroupOf(h.pid(), me)).map(ProcessHandle::pid).sorted().toList();
    }

    private static boolean inCgroupOf(long pid, long jvm) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cgroup")).contains("/fdrestore-" + jvm + "-");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aMissingCwdFailsNamingTheTaskUnlessTheFallbackIsAsked() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("gone"));
        Process p = start(work, 1, "sleep", "1000");
        Path images = dump(p);
        Files.delete(work);
        CliRunner r = CliRunner.run("restore", "--then=kill", images.toString());
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("task " + p.pid() + ": its cwd " + work + " is missing under /"), r.err);
        CliRunner.Restored ok = restore(images, Path.of("/"), "--cwd-fallback");
        assertEquals("/", cwd(members(ok).get(0)));
    }

    /**
     * Issue 23 item 4: an image whose command writes a file, with a cwd of "/../../../outside", runs nothing
     * by default; with --exec its cwd is resolved under --root (ROOT/outside), never the host's /outside.
     */
    @Test
    void aRecordedCommandRunsOnlyWithExecAndItsCwdStaysUnderTheRoot() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        try (Stream<Path> s = Files.list(Samples.criu("a_pipe"))) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (f.getFileName().toString().endsWith(".img")) {
                    Files.copy(f, images.resolve(f.getFileName().toString()));
                }
            }
        }
        Path root = Samples.prepareRoot("a_pipe", Files.createDirectories(tmp.resolve("root")));
        Files.createDirectories(root.resolve("outside"));
        List<fdrestore.api.image.codec.ImageEntry> entries = new ArrayList<>();
        for (fdrestore.api.image.ImageSet.Task t : fdrestore.api.image.ImageSet.open(images).tasks()) {
            entries.add(fdrestore.api.image.codec.ImageEntry.of(fdrestore.api.image.proto.FdrTaskEntry.newBuilder()
                    .setPid(t.pid()).addArgv(bytes("/bin/sh")).addArgv(bytes("-c"))
                    .addArgv(bytes("pwd > where-" + t.pid() + "; id > " + tmp.resolve("ran-" + t.pid())))
                    .addEnv(bytes("PATH=/usr/bin:/bin")).setCwd(bytes("/../../../outside")).build()));
        }
        fdrestore.api.image.codec.ImageWriter.write(new fdrestore.api.image.codec.ImageFile(
                fdrestore.api.image.codec.Magic.FDR_TASK, entries), images.resolve("fdr-task.img"));
        // the sample's own cwd is in fs-PID.img; this test's cwd is fdrestore's record: drop the criu one
        try (Stream<Path> s = Files.list(images)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (f.getFileName().toString().startsWith("fs-")) {
                    Files.delete(f);
                }
            }
        }
        CliRunner.Restored held = restore(images, root);
        Thread.sleep(500);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(f -> f.getFileName().toString().startsWith("ran-")).toList(),
                    "no recorded command ran without --exec");
        }
        for (int pid : members(held)) {
            assertEquals(root.resolve("outside").toRealPath().toString(), cwd(pid));
        }
        killCgroup(Path.of(held.doc().get("cgroup").toString()));
        restore(images, root, "--exec");
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<Path> where;
        do {
            assertTrue(System.nanoTime() < deadline, "the command of the child task did not run");
            Thread.sleep(50);
            try (Stream<Path> s = Files.list(root.resolve("outside"))) {
                where = s.filter(f -> f.getFileName().toString().startsWith("where-")).toList();
            }
        } while (where.isEmpty() || Files.size(where.get(0)) == 0);
        assertEquals(root.resolve("outside").toRealPath() + "\n", Files.readString(where.get(0)));
        assertFalse(Files.exists(Path.of("/outside")), "nothing ran in the host's /outside");
    }

    private static com.google.protobuf.ByteString bytes(String s) {
        return com.google.protobuf.ByteString.copyFromUtf8(s);
    }

    @Test
    void execOnImagesWithoutCommandsSaysSoAndHolds() throws Exception {
        Path root = Samples.prepareRoot("a_pipe", Files.createDirectories(tmp.resolve("root")));
        CliRunner r = CliRunner.run("restore", "--root", root.toString(), "--exec", "--verify", "--then=kill",
                Samples.criu("a_pipe").toString());
        assertEquals(0, r.code, r.toString());
        assertTrue(r.err.contains("no task of") && r.err.contains("every task holds its fds"), r.err);
        assertFalse(r.out.contains("Verification FAILED"), r.out);
    }

    /**
     * --exec --listen-fds: a socket-activated server (sd_listen_fds by hand: LISTEN_PID, LISTEN_FDS, fd 3)
     * takes over its restored listener and accepts the connection that was queued on it before the dump.
     */
    @Test
    void aSocketActivatedServerAcceptsAConnectionQueuedBeforeTheDump() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("sa"));
        Path out = dir.resolve("out.txt");
        Path server = dir.resolve("server.py");
        Files.writeString(server, String.join("\n",
                "import os, socket, sys, time",
                "out = sys.argv[1]",
                "path = os.path.join(os.path.dirname(out), 'srv.sock')",
                "if os.environ.get('LISTEN_FDS'):",
                "    assert int(os.environ['LISTEN_PID']) == os.getpid()",
                "    ls = socket.socket(fileno=3)",
                "    ls.settimeout(10)",
                "    conn, _ = ls.accept()",
                "    open(out, 'w').write('%s %s accepted' % (os.environ['LISTEN_FDS'], os.environ['LISTEN_FDNAMES']))",
                "    time.sleep(1000)",
                "keep = [os.open('/dev/null', os.O_RDONLY) for _ in range(3)]",   // the listener is not at 3
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
                "s.bind(path)",
                "s.listen(4)",
                "c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
                "c.connect(path)",   // queued: never accepted before the dump
                "c.sendall(b'hello')",
                "time.sleep(1000)",
                ""));
        Process p = start(dir, 1, PYTHON, server.toString(), out.toString());
        Path images = dump(p);
        restore(images, Path.of("/"), "--exec", "--listen-fds");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!Files.exists(out) || Files.readString(out).isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "the server did not accept its queued connection");
            Thread.sleep(50);
        }
        Thread.sleep(100);
        assertEquals("1 fd6 accepted", Files.readString(out), "one listener, restored at fd 6 and moved to 3, with "
                + "the connection the client made before the dump in its queue");
        Files.deleteIfExists(dir.resolve("srv.sock"));
    }

    /** zdtm fdt_shared: 4 tasks share one fd table (files_id 2); zdtm fd: a task whose table is empty. */
    @Test
    void sharedAndEmptyFdTablesRestore() throws Exception {
        Path root = Samples.prepareRoot("zdtm/fdt_shared", Files.createDirectories(tmp.resolve("root")));
        // the directory mode git does not keep (the image checks it)
        Files.setPosixFilePermissions(root.resolve("tmp/zdtm2/run/fdt_shared"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        CliRunner.Restored r = restore(Samples.criu("zdtm/fdt_shared"), root);
        Map<Integer, Integer> pids = new TreeMap<>(r.pids());
        int owner = pids.get(15997);
        for (int sharer : new int[] {15998, 15999, 16000}) { // ids-*.img: files_id 2
            assertEquals(0, Sys.kcmp(owner, pids.get(sharer), Linux.KCMP_FILES, 0, 0), "task " + sharer);
        }
        assertNotEquals(0, Sys.kcmp(owner, pids.get(16001), Linux.KCMP_FILES, 0, 0), "task 16001 has its own (files_id 3)");
        Path root2 = Samples.prepareRoot("zdtm/fd", Files.createDirectories(tmp.resolve("root2")));
        Files.setPosixFilePermissions(root2.resolve("tmp/zdtm2/run/fd"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        CliRunner.Restored e = restore(Samples.criu("zdtm/fd"), root2);
        assertEquals(List.of(), fds(e.pids().get(27329)), "the empty table stays empty");
    }

    private static List<String> fds(int pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        }
    }

    /** The command line of a separate JVM running fdrestore's Main on this test's class path. */
    private static List<String> javaCommand(String... args) {
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "fdrestore.app.Main"));
        c.addAll(List.of(args));
        return c;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
