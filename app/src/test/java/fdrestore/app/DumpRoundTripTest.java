package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.core.json.Json;
import fdrestore.testkit.ImageSetText;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore(dump(tree))} on real trees the tests build: dump a live tree, kill it, restore the images
 * (with --verify, into holders), dump the restored tree, and compare the two image sets after normalising
 * pids, inodes and file ids ({@link ImageSetText}). Both dumps pass the strict CRIU check.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DumpRoundTripTest {
    /** A live python3 tree for dump tests; {@link #close()} kills it, descendants first. */
    static final class Tree implements AutoCloseable {
        static final String PYTHON = new File("/usr/bin/python3").canExecute() ? "/usr/bin/python3" : "python3";
        static final String PRELUDE = String.join("\n",
                "import os, sys, time, select, socket, fcntl, ctypes",
                "libc = ctypes.CDLL(None, use_errno=True)",
                // The JVM's child forks the tree's root and waits for it: a tree that is the JVM's child
                // would look exited to the JVM's process reaper while --freeze holds it in a ptrace stop.
                "if os.fork() != 0:",
                "    os.wait()",
                "    os._exit(0)",
                "print('pid', os.getpid(), flush=True)",
                "os.setsid()",
                "def ready(extra=''):",
                "    print('ready ' + extra, flush=True)",
                "    time.sleep(1000)",
                "");

        /** The JVM's child, parent of the tree's root. */
        final Process process;
        final String ready;
        private final int root;

        Tree(String script) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(PYTHON, "-c", PRELUDE + script);
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            this.process = pb.start();
            BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String first = r.readLine();
            String line = first != null && first.startsWith("pid ") ? r.readLine() : null;
            if (line == null || !line.startsWith("ready")) {
                close();
                throw new IOException("the scenario did not start: " + first + " / " + line);
            }
            this.root = Integer.parseInt(first.substring(4).strip());
            this.ready = line;
        }

        /** The tree's root. */
        int pid() {
            return root;
        }

        List<Integer> pids() {
            List<Integer> out = new ArrayList<>();
            out.add(pid());
            process.descendants().filter(h -> h.pid() != root).forEach(h -> out.add((int) h.pid()));
            return out;
        }

        @Override
        public void close() {
            process.descendants().toList().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // Close the pipes now rather than leave them to the Cleaner (which would change the JVM's fd table later).
            for (java.io.Closeable c : new java.io.Closeable[] {process.getInputStream(), process.getOutputStream(),
                    process.getErrorStream()}) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
    }

    private final List<Tree> trees = new ArrayList<>();
    private final List<Integer> restored = new ArrayList<>();

    @TempDir
    Path tmp;

    @AfterEach
    void killEverything() {
        trees.forEach(Tree::close);
        RestoredTasks.stop(restored);
    }

    private Tree start(String script) throws IOException {
        Tree t = new Tree(script);
        trees.add(t);
        return t;
    }

    static CliRunner dump(int pid, Path dir, String... more) {
        List<String> a = new ArrayList<>(List.of("dump", "-t", Integer.toString(pid), "-D", dir.toString(), "--json"));
        a.addAll(List.of(more));
        return CliRunner.run(a.toArray(String[]::new));
    }

    /** Dump, kill, restore --verify, dump again; returns the two image sets' canonical texts. */
    private List<List<String>> roundTrip(Tree t, String... plugins) throws Exception {
        Path d1 = tmp.resolve("dump1");
        CliRunner r1 = dump(t.pid(), d1, plugins);
        assertEquals(0, r1.code, r1.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d1), "the first dump passes the strict CRIU check");
        t.close();

        List<String> extra = new ArrayList<>(List.of("--hold"));
        extra.addAll(List.of(plugins));
        int root = CliRunner.restoreDetached(restored, d1, Path.of("/"), extra.toArray(String[]::new)).pids()
                .values().iterator().next();

        Path d2 = tmp.resolve("dump2");
        CliRunner r2 = dump(root, d2, plugins);
        assertEquals(0, r2.code, r2.toString());
        assertEquals(List.of(), StrictCheck.checkDir(d2), "the second dump passes the strict CRIU check");
        return List.of(ImageSetText.of(d1), ImageSetText.of(d2));
    }

    private void assertRoundTrip(Tree t, String... plugins) throws Exception {
        List<List<String>> two = roundTrip(t, plugins);
        assertEquals(String.join("\n", two.get(0)), String.join("\n", two.get(1)),
                "dump(restore(dump(tree))) differs from dump(tree)");
    }

    private static String q(Path p) {
        return "'" + p.toString().replace("'", "\\'") + "'";
    }

    @Test
    void pipesWithDataFifoAppendFileAndDeletedFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("files"));
        Files.writeString(dir.resolve("log"), "existing\n");
        Tree t = start(String.join("\n",
                "d = " + q(dir),
                "r, w = os.pipe()",
                "os.write(w, b'data in flight ' * 100)",
                "r2, w2 = os.pipe2(os.O_NONBLOCK)",
                "fcntl.fcntl(w2, 1031, 1 << 20)",
                "os.write(w2, b'x' * 70000)",
                "os.mkfifo(d + '/fifo')",
                "fr = os.open(d + '/fifo', os.O_RDONLY | os.O_NONBLOCK)",
                "fw = os.open(d + '/fifo', os.O_WRONLY)",
                "os.write(fw, b'queued in the fifo')",
                "log = os.open(d + '/log', os.O_WRONLY | os.O_APPEND)",
                "os.write(log, b'appended\\n')",
                "g = os.open(d + '/ghost', os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)",
                "os.write(g, b'content of a deleted file')",
                "os.lseek(g, 7, 0)",
                "os.unlink(d + '/ghost')",
                "os.dup2(r, 40)",
                "if os.fork() == 0:",
                "    os.close(w)",
                "    mine = os.open(d + '/log', os.O_RDONLY)",
                "    time.sleep(1000)",
                "time.sleep(0.3)",
                "ready()"));
        List<List<String>> two = roundTrip(t);
        assertEquals(String.join("\n", two.get(0)), String.join("\n", two.get(1)));
        String text = String.join("\n", two.get(0));
        assertTrue(text.contains("pipe-data") && text.contains("1500 bytes"), text);
        assertTrue(text.contains("size 1048576 70000 bytes"), text);
        assertTrue(text.contains("fifo-data") && text.contains("18 bytes"), text);
        assertTrue(text.contains("remap 1 ghost mode 0100640"), text);
        assertTrue(text.contains("flags: 33793"), "O_WRONLY|O_APPEND|O_LARGEFILE: " + text);
        assertEquals("existing\nappended\n", Files.readString(dir.resolve("log")), "user data untouched");
        assertTrue(!Files.exists(dir.resolve("ghost")), "the ghost is deleted again after the restore");
    }

    @Test
    void epollOverPipesAndTimers() throws Exception {
        Tree t = start(String.join("\n",
                "class ts(ctypes.Structure): _fields_ = [('s', ctypes.c_long), ('n', ctypes.c_long)]",
                "class its(ctypes.Structure): _fields_ = [('i', ts), ('v', ts)]",
                "r, w = os.pipe()",
                "os.write(w, b'wake')",
                "ep = select.epoll()",
                "ep.register(r, select.EPOLLIN)",
                "ep.register(w, select.EPOLLOUT | select.EPOLLET)",
                "armed = libc.timerfd_create(1, os.O_NONBLOCK)",
                "libc.timerfd_settime(armed, 0, ctypes.byref(its(ts(3600, 0), ts(3600, 0))), None)",
                "idle = libc.timerfd_create(0, 0)",
                "ep.register(armed, select.EPOLLIN)",
                "if os.fork() == 0:",
                "    time.sleep(1000)",
                "time.sleep(0.3)",
                "ready()"));
        List<List<String>> two = roundTrip(t);
        assertEquals(String.join("\n", two.get(0)), String.join("\n", two.get(1)));
        String text = String.join("\n", two.get(0));
        assertTrue(text.contains("EVENTPOLL") && text.contains("target"), text);
        assertTrue(text.contains("isec: 3600") && text.contains(" armed") && text.contains(" disarmed"), text);
    }

    @Test
    void inetListenerAndUdp() throws Exception {
        Tree t = start(String.join("\n",
                "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "s.bind(('127.0.0.1', 0))",
                "s.listen(7)",
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
                "u.bind(('127.0.0.1', 0))",
                "unbound = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)",
                "ready(str(s.getsockname()[1]))"));
        int port = Integer.parseInt(t.ready.split(" ")[1]);
        List<List<String>> two = roundTrip(t);
        assertEquals(String.join("\n", two.get(0)), String.join("\n", two.get(1)));
        String text = String.join("\n", two.get(0));
        assertTrue(text.contains("state: 10") && text.contains("src_port: " + port) && text.contains("backlog: 7"), text);
    }

    @Test
    @EnabledIf(value = "fdrestore.app.EventfdPluginTest#eventfdJarBuilt",
            disabledReason = "the eventfd plugin jar is missing: build it with `mvn -pl plugins/eventfd package`")
    void eventfdThroughThePluginsFolder() throws Exception {
        Path plugins = EventfdPluginTest.pluginsDir(tmp);
        Tree t = start(String.join("\n",
                "a = os.eventfd(7, os.EFD_NONBLOCK)",
                "b = os.eventfd(3, os.EFD_SEMAPHORE | os.EFD_CLOEXEC)",
                "ready()"));
        List<List<String>> two = roundTrip(t, "--plugins", plugins.toString());
        assertEquals(String.join("\n", two.get(0)), String.join("\n", two.get(1)));
        ImageSet set = ImageSet.open(tmp.resolve("dump2"));
        List<FileEntry> efds = set.files().values().stream().filter(FileEntry::hasEfd).toList();
        assertEquals(List.of(7L, 3L), efds.stream().map(f -> f.getEfd().getCounter()).toList());
        assertEquals(1, efds.get(1).getEfd().getFlags() & 1, "semaphore mode survives");
    }

    /**
     * The unix and tty parts of a dump, normalised: ImageSetText keeps UnixSkEntry inodes and peers and tty
     * pids verbatim, and does not render sk-queues.img or tty-info.img. Inodes become U1, U2 ... in order of
     * first appearance in the canonical text; pids become their pstree position.
     */
    static List<String> normalised(Path dir) throws IOException {
        List<String> lines = new ArrayList<>(ImageSetText.of(dir));
        ImageSet set = ImageSet.open(dir);
        Map<Long, String> inodes = new java.util.HashMap<>();
        java.util.function.LongFunction<String> label = ino -> ino == 0 ? "0"
                : inodes.computeIfAbsent(ino, k -> "U" + (inodes.size() + 1));
        Map<Integer, String> pids = new java.util.HashMap<>();
        for (ImageSet.Task t : set.tasks()) {
            pids.put(t.pid(), "T" + (pids.size() + 1));
        }
        java.util.regex.Pattern num = java.util.regex.Pattern.compile("\\b(ino|peer): (\\d+)");
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            java.util.regex.Matcher m = num.matcher(l);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(sb, m.group(1) + ": " + label.apply(Long.parseLong(m.group(2))));
            }
            m.appendTail(sb);
            String n = sb.toString().replaceAll("\\bns_id: \\d+", "ns_id: N");
            out.add(n);
        }
        Map<Long, Long> inoOfFile = new java.util.HashMap<>();
        for (FileEntry f : set.files().values()) {
            if (f.hasUsk()) {
                inoOfFile.put(Integer.toUnsignedLong(f.getId()), Integer.toUnsignedLong(f.getUsk().getIno()));
            }
        }
        for (fdrestore.api.image.codec.ImageEntry e : set.image(fdrestore.api.image.codec.Magic.SK_QUEUES).entries()) {
            fdrestore.api.image.proto.SkPacketEntry p = (fdrestore.api.image.proto.SkPacketEntry) e.message();
            Long ino = inoOfFile.get(Integer.toUnsignedLong(p.getIdFor()));
            out.add("sk-queue for " + (ino == null ? "?" : label.apply(ino)) + " " + p.getLength() + " bytes "
                    + new String(e.payload(), StandardCharsets.ISO_8859_1));
        }
        for (fdrestore.api.image.proto.TtyInfoEntry i : set.entries(fdrestore.api.image.codec.Magic.TTY_INFO,
                fdrestore.api.image.proto.TtyInfoEntry.class)) {
            out.add("tty-info " + com.google.protobuf.TextFormat.shortDebugString(i.toBuilder()
                    .setSid(0).setPgrp(0).clearDev().build()) + " sid " + pids.getOrDefault(i.getSid(), "ext " + i.getSid())
                    + " pgrp " + pids.getOrDefault(i.getPgrp(), "ext " + i.getPgrp()));
        }
        return out;
    }

    /** Like {@link #assertRoundTrip}, compared with {@link #normalised}; returns the first dump's text. */
    private String unixTtyRoundTrip(Tree t) throws Exception {
        roundTrip(t);
        String one = String.join("\n", normalised(tmp.resolve("dump1")));
        String two = String.join("\n", normalised(tmp.resolve("dump2")));
        assertEquals(one, two, "dump(restore(dump(tree))) differs from dump(tree)");
        return one;
    }

    @Test
    void unixSocketpairsAndListenersWithPendingConnections() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("sock"));
        String abs = "fdrestore-rt-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Tree t = start(String.join("\n",
                "d = " + q(dir),
                "A = socket.AF_UNIX",
                "a, b = socket.socketpair(A, socket.SOCK_STREAM)",
                "a.send(b'to b over the stream pair')",
                "b.send(b'to a, first write;')",
                "b.send(b' to a, second write')",
                "c, e = socket.socketpair(A, socket.SOCK_DGRAM)",
                "c.send(b'dgram one')",
                "c.send(b'dgram number two')",
                "e.send(b'dgram back')",
                "l = socket.socket(A, socket.SOCK_STREAM)",
                "l.bind(d + '/srv.sock')",
                "l.listen(5)",
                "la = socket.socket(A, socket.SOCK_STREAM)",
                "la.bind('\\0" + abs + "')",
                "la.listen(3)",
                "cl = socket.socket(A, socket.SOCK_STREAM)",
                "cl.connect(d + '/srv.sock')",
                "acc, _ = l.accept()",
                "cl.send(b'hello server')",
                "pend = socket.socket(A, socket.SOCK_STREAM)",
                "pend.connect(d + '/srv.sock')",
                "cl2 = socket.socket(A, socket.SOCK_STREAM)",
                "cl2.connect('\\0" + abs + "')",
                "acc2, _ = la.accept()",
                "acc2.send(b'hello abstract client')",
                "pend2 = socket.socket(A, socket.SOCK_STREAM)",
                "pend2.connect('\\0" + abs + "')",
                "if os.fork() == 0:",
                "    a.close(); c.close()",
                "    time.sleep(1000)",
                "b.close(); e.close()",
                "time.sleep(0.3)",
                "ready()"));
        String text = unixTtyRoundTrip(t);
        assertTrue(text.contains("sk-queue for") && text.contains("to b over the stream pair"), text);
        assertTrue(text.contains("to a, first write; to a, second write"), "a stream queue is one packet: " + text);
        assertTrue(text.contains("9 bytes dgram one") && text.contains("16 bytes dgram number two")
                && text.contains("10 bytes dgram back"), "datagrams keep their boundaries: " + text);
        assertTrue(text.contains("12 bytes hello server") && text.contains("hello abstract client"), text);
        assertTrue(text.contains("state: 10") && text.contains("backlog: 5") && text.contains("backlog: 3"), text);
        assertTrue(text.contains("srv.sock\\000") && text.contains("name: \"\\000" + abs + "\""), "names as CRIU writes them: "
                + text);
        ImageSet set = ImageSet.open(tmp.resolve("dump2"));
        long listeners = set.files().values().stream().filter(f -> f.hasUsk() && f.getUsk().getState() == 10).count();
        assertEquals(2, listeners, text);
        for (FileEntry f : set.files().values()) {
            if (f.hasUsk() && f.getUsk().getState() == 10) {
                long ino = Integer.toUnsignedLong(f.getUsk().getIno());
                long pending = set.files().values().stream().filter(x -> x.hasUsk()
                        && Integer.toUnsignedLong(x.getUsk().getPeer()) == ino).count();
                assertEquals(1, pending, "one pending client has the listener as its peer: " + text);
            }
        }
    }

    @Test
    void ptySessionWithControllingTerminal() throws Exception {
        Tree t = start(String.join("\n",
                "import termios, struct",
                "m, s = os.openpty()",
                "at = termios.tcgetattr(s)",
                "at[3] &= ~termios.ECHO",
                "at[6][termios.VINTR] = b'\\x01'",
                "termios.tcsetattr(s, termios.TCSANOW, at)",
                "fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 132, 0, 0))",
                "if os.fork() == 0:",
                "    os.setsid()",
                "    fcntl.ioctl(s, termios.TIOCSCTTY, 0)",
                "    os.dup2(s, 0); os.dup2(s, 1); os.dup2(s, 2)",
                "    os.close(s); os.close(m)",
                "    os.write(1, b'unread by the master')",
                "    time.sleep(1000)",
                "os.close(s)",
                "time.sleep(0.3)",
                "ready()"));
        Path d0 = tmp.resolve("dump0");
        CliRunner r0 = dump(t.pid(), d0);
        assertEquals(0, r0.code, r0.toString());
        assertTrue(r0.out.contains("not dumped (a tty cannot be peeked"), "the unread data is noted: " + r0.out);
        String text = unixTtyRoundTrip(t);
        assertTrue(text.contains("ws_row: 40 ws_col: 132"), text);
        assertTrue(text.contains("sid T2 pgrp T2"), "the child leads the pty's session: " + text);
        ImageSet set = ImageSet.open(tmp.resolve("dump2"));
        List<String> ttyPaths = new ArrayList<>();
        for (FileEntry f : set.files().values()) {
            if (f.hasTty()) {
                ttyPaths.add(set.file(Integer.toUnsignedLong(f.getTty().getRegfId())).orElseThrow().getReg().getName());
            }
        }
        assertTrue(ttyPaths.contains("/dev/ptmx") && ttyPaths.stream().anyMatch(p -> p.startsWith("/dev/pts/")),
                "regf_id names the path of each tty file: " + ttyPaths);
        ImageSet.Task child = set.tasks().get(1);
        assertEquals(child.pid(), child.sid(), "the restored child leads its session");
        List<fdrestore.api.image.proto.TtyInfoEntry> infos = set.entries(fdrestore.api.image.codec.Magic.TTY_INFO,
                fdrestore.api.image.proto.TtyInfoEntry.class);
        assertEquals(2, infos.size(), "one tty-info for the master side, one for the slave side");
        for (fdrestore.api.image.proto.TtyInfoEntry i : infos) {
            if (i.getId() % 2 == 0) { // the slave side
                assertEquals(0, i.getTermios().getCLflag() & 010, "ECHO stays off");
                assertEquals(1, i.getTermios().getCCc(0) & 0xff, "VINTR is ^A");
            }
        }
    }

    /** Restores {@code images} verified ({@link CliRunner#restoreDetached}); returns the tasks' commands. */
    @SuppressWarnings("unchecked")
    private List<String> restoreVerified(Path root, Path images) {
        CliRunner.Restored r = CliRunner.restoreDetached(restored, images, root);
        List<String> commands = new ArrayList<>();
        for (Object o : (List<Object>) r.doc().get("tasks")) {
            commands.add((String) ((Map<String, Object>) o).get("command"));
        }
        return commands;
    }

    /**
     * Checkpointing a restored tree again: its tasks run the holder, whose command line names the ready,
     * control and gate fds of a restore that is over. The dump records no command for them, and their
     * restore holds the fds anew (running that line would write into the restored fds).
     */
    @Test
    @SuppressWarnings("unchecked")
    void aRestoredTreeDumpedAgainIsRestoredIntoNewHolders() throws Exception {
        Path root = fdrestore.testkit.Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        List<String> first = restoreVerified(root, fdrestore.testkit.Samples.criu("a_pipe"));
        assertEquals(List.of("holder (a_pipe)", "holder (a_pipe)", "holder (a_pipe)", "holder (a_pipe)"), first);

        Path d = tmp.resolve("again");
        CliRunner dump = dump(restored.get(0), d);
        assertEquals(0, dump.code, dump.toString());
        List<Object> notes = (List<Object>) ((Map<String, Object>) Json.parse(dump.out)).get("notes");
        assertEquals(4, notes.stream().filter(n -> n.toString().contains("runs fdrestore's holder")).count(), dump.out);
        ImageSet images = ImageSet.open(d);
        for (var t : images.tasks()) {
            assertEquals(0, images.fdrTask(t.pid()).orElseThrow().getArgvCount(), "task " + t.pid() + ": no command");
        }
        RestoredTasks.stop(new ArrayList<>(restored));
        restored.clear();

        assertEquals(first, restoreVerified(Path.of("/"), d));
    }

    /**
     * Images that record a holder's command line (dumped from a restored tree by an older fdrestore) are
     * restored into new holders: the recorded line, which would read commands from the task's fd 3 (its
     * pipe, consuming the queued data) and answer on fd 6, is never run.
     */
    @Test
    void aRecordedHolderCommandLineIsNeverRun() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("old-dump"));
        try (var s = Files.list(fdrestore.testkit.Samples.criu("a_pipe"))) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(f) && f.getFileName().toString().endsWith(".img")) {
                    Files.copy(f, images.resolve(f.getFileName()));
                }
            }
        }
        List<fdrestore.api.image.codec.ImageEntry> entries = new ArrayList<>();
        for (var t : ImageSet.open(images).tasks()) {
            var e = fdrestore.api.image.proto.FdrTaskEntry.newBuilder().setPid(t.pid()).setComm("a_pipe");
            for (String a : List.of("/opt/old/lib/fdrestore-holder", "--ready", "6", "--comm", "a_pipe", "--control", "3:6")) {
                e.addArgv(com.google.protobuf.ByteString.copyFromUtf8(a));
            }
            e.setCwd(com.google.protobuf.ByteString.copyFromUtf8("/"));
            entries.add(fdrestore.api.image.codec.ImageEntry.of(e.build()));
        }
        fdrestore.api.image.codec.ImageWriter.write(new fdrestore.api.image.codec.ImageFile(
                fdrestore.api.image.codec.Magic.FDR_TASK, entries), images.resolve("fdr-task.img"));
        Path root = fdrestore.testkit.Samples.prepareRoot("a_pipe", tmp.resolve("root"));
        assertEquals(List.of("holder (a_pipe)", "holder (a_pipe)", "holder (a_pipe)", "holder (a_pipe)"),
                restoreVerified(root, images));
    }
}
