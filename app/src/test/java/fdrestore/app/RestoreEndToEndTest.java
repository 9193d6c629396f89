package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.json.Json;
import fdrestore.core.restore.Verifier;
import fdrestore.testkit.FdSnapshot;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Restores real criu 4.2 image sets into real processes through the command line, and compares the
 * restored fd tables with the original tree's ({@code expected.norm}), pipe and fifo data byte for byte,
 * and sharing through kcmp.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RestoreEndToEndTest {
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        RestoredTasks.stop(started);
    }

    private Map<Integer, Integer> restoreDetached(Path images, Path root) {
        CliRunner.Restored r = CliRunner.restoreDetached(started, images, root);
        @SuppressWarnings("unchecked")
        Map<String, Object> timings = (Map<String, Object>) r.doc().get("timings");
        assertTrue(((Number) timings.get("engineMs")).doubleValue() > 0, r.doc().toString());
        assertTrue(((Number) timings.get("totalMs")).doubleValue() > 0, r.doc().toString());
        return r.pids();
    }

    static Map<String, String> checksums(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                try {
                    out.put(root.relativize(p).toString(), HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"a_pipe", "b_fifo", "g_regfile", "v_ghost", "big_32x2_shared_flat", "big_32x64_shared_flat"})
    void restoredTablesEqualTheOriginalTree(String sample, @TempDir Path tmp) throws Exception {
        restoreAndCompare(sample, tmp);
    }

    /**
     * With the queue of fds off (FDRESTORE_FD_HANDOVER=off), a built child takes its fds one by one with
     * pidfd_getfd, as when the kernel refuses that many fds in flight: the same tables (a_pipe's third
     * task holds fds 100 and 101 only, above a gap).
     */
    @ParameterizedTest
    @ValueSource(strings = {"a_pipe", "big_32x64_shared_flat"})
    void childrenTakingTheirFdsOneByOneRestoreTheSameTables(String sample, @TempDir Path tmp) throws Exception {
        String was = System.getProperty("fdrestore.fd.handover");
        System.setProperty("fdrestore.fd.handover", "off");
        try {
            restoreAndCompare(sample, tmp);
        } finally {
            if (was == null) {
                System.clearProperty("fdrestore.fd.handover");
            } else {
                System.setProperty("fdrestore.fd.handover", was);
            }
        }
    }

    private void restoreAndCompare(String sample, Path tmp) throws Exception {
        Path images = Samples.criu(sample);
        Path root = Samples.prepareRoot(sample, tmp.resolve("root"));
        Map<String, String> before = checksums(root);

        Map<Integer, Integer> pids = restoreDetached(images, root);

        Map<Integer, List<String>> expected = FdSnapshot.readExpected(images.resolve("expected.norm"));
        Map<Integer, Integer> ordered = new LinkedHashMap<>();
        for (int imagePid : expected.keySet()) {
            ordered.put(imagePid, pids.get(imagePid));
        }
        Map<Integer, List<String>> actual = FdSnapshot.take(ordered, root);
        assertEquals("", FdSnapshot.diff(expected, actual), "restored fd tables differ from expected.norm");

        checkProcessTree(images.resolve("expected.norm"), pids);
        checkQueuedData(ImageSet.open(images), pids);
        assertEquals(before, checksums(root), "the restore must not modify any file under --root");
    }

    /**
     * The restored processes form the original tree: each task's parent, group and session are the
     * restored processes of the original ones (expected.norm's PID lines; the root's parent was outside).
     */
    static void checkProcessTree(Path expectedNorm, Map<Integer, Integer> pids) throws IOException {
        checkProcessTree(expectedNorm, pids, null);
    }

    /**
     * As {@link #checkProcessTree(Path, Map)}; where expected.norm writes the name {@code x} (the zdtm
     * corpus' normalisation), the name is the one core-PID.img of {@code images} records.
     */
    static void checkProcessTree(Path expectedNorm, Map<Integer, Integer> pids, ImageSet images) throws IOException {
        for (String line : Files.readAllLines(expectedNorm)) {
            if (!line.startsWith("PID ")) {
                continue;
            }
            Map<String, Integer> f = new LinkedHashMap<>();
            for (String kv : line.split(" ")) {
                int eq = kv.indexOf('=');
                if (eq > 0 && !kv.startsWith("comm")) {
                    f.put(kv.substring(0, eq), Integer.parseInt(kv.substring(eq + 1)));
                }
            }
            int imagePid = Integer.parseInt(line.split(" ")[1]);
            int pid = pids.get(imagePid);
            String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = st.substring(st.lastIndexOf(')') + 2).split(" ");
            if (pids.containsKey(f.get("ppid"))) {
                assertEquals((int) pids.get(f.get("ppid")), Integer.parseInt(fields[1]), "parent of task " + imagePid);
            }
            assertEquals((int) pids.get(f.get("pgid")), Integer.parseInt(fields[2]), "process group of task " + imagePid);
            assertEquals((int) pids.get(f.get("sid")), Integer.parseInt(fields[3]), "session of task " + imagePid);
            String comm = line.substring(line.indexOf("comm=") + 5);
            if (comm.equals("x") && images != null) {
                comm = images.task(imagePid).orElseThrow().comm();
            }
            assertEquals(comm, Files.readString(Path.of("/proc/" + pid + "/comm")).strip(), "comm of task " + imagePid);
        }
    }

    /** Every pipe's and fifo's queued bytes are back, byte for byte (FIONREAD, then the content). */
    static void checkQueuedData(ImageSet images, Map<Integer, Integer> pids) throws Exception {
        for (Magic magic : new Magic[] {Magic.PIPES_DATA, Magic.FIFO_DATA}) {
            for (ImageEntry e : images.image(magic).entries()) {
                PipeDataEntry d = e.message(PipeDataEntry.class);
                // A read end of this pipe in some restored task.
                int[] where = findReadEnd(images, d.getPipeId(), pids, magic == Magic.FIFO_DATA);
                if (where == null && readEndInFlight(images, d.getPipeId())) {
                    // no task holds its read end: it travels in a unix socket's queue (SCM_RIGHTS), where
                    // taking it would consume the restored message; the unix plugin's real-kernel tests do
                    continue;
                }
                assertTrue(where != null, "no read end for pipe " + d.getPipeId());
                int fd = Sys.open("/proc/" + where[0] + "/fd/" + where[1], Linux.O_RDONLY | Linux.O_NONBLOCK | Linux.O_CLOEXEC, 0);
                try {
                    byte[] n = new byte[4];
                    Sys.ioctl(fd, 0x541B /* FIONREAD */, n);
                    int queued = (n[0] & 255) | (n[1] & 255) << 8 | (n[2] & 255) << 16 | (n[3] & 255) << 24;
                    assertEquals(d.getBytes(), queued, "FIONREAD of pipe " + d.getPipeId());
                    byte[] got = new byte[queued];
                    int off = 0;
                    while (off < queued) {
                        int k = Sys.read(fd, got, off, queued - off);
                        assertTrue(k > 0, "short read");
                        off += k;
                    }
                    assertArrayEquals(e.payload(), got, "content of pipe " + d.getPipeId());
                } finally {
                    Sys.close(fd);
                }
            }
        }
    }

    /**
     * True if pipe {@code pipeId} has a read end that no fd of any task refers to: it travels in a unix
     * socket's queue (SCM_RIGHTS).
     */
    private static boolean readEndInFlight(ImageSet images, int pipeId) {
        java.util.Set<Long> held = new java.util.HashSet<>();
        images.tasks().forEach(t -> t.fds().forEach(fd -> held.add(fd.fileId())));
        return images.files().entrySet().stream().anyMatch(e -> e.getValue().hasPipe()
                && e.getValue().getPipe().getPipeId() == pipeId && (e.getValue().getPipe().getFlags() & 3) == 0
                && !held.contains(e.getKey()));
    }

    private static int[] findReadEnd(ImageSet images, int pipeId, Map<Integer, Integer> pids, boolean fifo) {
        for (ImageSet.Task t : images.tasks()) {
            for (ImageSet.Fd fd : t.fds()) {
                FileEntry f = images.file(fd.fileId()).orElseThrow();
                boolean match = fifo ? f.hasFifo() && f.getFifo().getPipeId() == pipeId
                        : f.hasPipe() && f.getPipe().getPipeId() == pipeId && (f.getPipe().getFlags() & 3) == 0;
                if (match) {
                    return new int[] {pids.get(t.pid()), fd.fd()};
                }
            }
        }
        return null;
    }

    @Test
    void verifierCatchesAWrongTree(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("a_pipe");
        Path root = Samples.prepareRoot("a_pipe", tmp);
        Map<Integer, Integer> pids = restoreDetached(images, root);
        // Swap two tasks with different tables: the verifier must see missing and extra fds.
        Map<Integer, Integer> wrong = new LinkedHashMap<>(pids);
        wrong.put(30514, pids.get(30513));
        wrong.put(30513, pids.get(30514));
        Verifier.Report r = new Verifier(ImageSet.open(images), root).verify(wrong);
        assertFalse(r.ok());
        assertTrue(r.mismatches().stream().anyMatch(m -> m.contains("task 30514") && m.contains("fd 100")), r.mismatches().toString());
    }

    private static long children() {
        return ProcessHandle.current().children().count();
    }

    @Test
    void missingFileHalfwayThrough32TasksRollsEverythingBack(@TempDir Path tmp) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(100, 0);
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        Path root = Files.createDirectories(tmp.resolve("root/data"));
        for (int i = 0; i < 32; i++) {
            int pid = 100 + i;
            if (i > 0) {
                b.task(pid, 100);
            }
            b.fd(pid, 0, devnull).fd(pid, 1, devnull).fd(pid, 2, devnull);
            long f = b.regularFile("/data/f" + i, Linux.O_RDONLY, 0);
            b.fd(pid, 3, f);
            long[] p = b.pipe(ImageSetBuilder.bytes("in flight " + i));
            b.fd(pid, 4, p[0]).fd(100, 100 + i, p[1]);
            if (i != 16) {
                Files.writeString(root.resolve("f" + i), "data " + i);
            }
        }
        Path images = b.write(tmp.resolve("images"));
        Path rootDir = tmp.resolve("root");
        Map<String, String> before = checksums(rootDir);

        // Once to load every class and jar the restore touches, then measure.
        CliRunner first = CliRunner.run("restore", "--root", rootDir.toString(), "--detach", images.toString());
        assertEquals(1, first.code, first.toString());
        Map<Integer, String> fds = HardeningSupport.jvmFds();
        long kids = children();

        CliRunner r = CliRunner.run("restore", "--root", rootDir.toString(), "--detach", images.toString());
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("task 116 fd 3"), r.err);
        assertTrue(r.err.contains("/data/f16"), r.err);
        assertTrue(r.err.contains("ENOENT"), r.err);
        assertTrue(r.err.contains("nothing was left behind"), r.err);
        assertFalse(r.err.contains("\tat "), r.err);
        assertEquals(List.of(), HardeningSupport.gainedSince(fds), "the JVM holds no fd it did not hold before");
        assertEquals(kids, children(), "no child process remains");
        assertEquals(0, kids);
        assertEquals(before, checksums(rootDir));
    }

    @Test
    void missingPluginFailsBeforeAnySyscallNamingTheKind(@TempDir Path tmp) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(7, 0);
        long f = b.regularFile("/dev/null", Linux.O_RDONLY, 0);
        b.fd(7, 0, f);
        Path images = b.write(tmp.resolve("images"));
        // Rewrite the file's type to eventfd (no plugin for it in this build).
        Path files = images.resolve("files.img");
        fdrestore.api.image.codec.ImageFile img = fdrestore.api.image.codec.ImageReader.read(files, Magic.FILES);
        FileEntry fe = img.entry(0).message(FileEntry.class).toBuilder().setType(6).build();
        fdrestore.api.image.codec.ImageWriter.write(new fdrestore.api.image.codec.ImageFile(Magic.FILES,
                List.of(ImageEntry.of(fe))), files);
        Path fdinfo = images.resolve("fdinfo-7.img");
        fdrestore.api.image.codec.ImageFile fi = fdrestore.api.image.codec.ImageReader.read(fdinfo, Magic.FDINFO);
        fdrestore.api.image.proto.FdinfoEntry e = fi.entry(0).message(fdrestore.api.image.proto.FdinfoEntry.class)
                .toBuilder().setType(6).build();
        fdrestore.api.image.codec.ImageWriter.write(new fdrestore.api.image.codec.ImageFile(Magic.FDINFO,
                List.of(ImageEntry.of(e))), fdinfo);
        long kids = children();
        CliRunner bad = CliRunner.run("restore", "--detach", images.toString());
        assertEquals(1, bad.code, bad.toString());
        assertTrue(bad.err.contains("no plugin restores EVENTFD (used by task 7 fd 0)"), bad.err);
        assertEquals(kids, children());
    }

    static void quietKill(int pid) {
        try {
            Sys.kill(pid, 9);
        } catch (SysException ignored) {
            // gone
        }
    }
}
