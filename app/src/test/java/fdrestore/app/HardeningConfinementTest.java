package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.sys.Linux;
import fdrestore.core.json.Json;
import fdrestore.testkit.ImageSetBuilder;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, confinement: with --root no path of an image reaches outside it (regular files, fifos and unix
 * socket names through "..", absolute symlinks and symlink loops); device nodes other than the host's
 * harmless character devices are refused unless --allow-devices; and every refusal is a clean abort that
 * leaves the files inside and outside the root as they were.
 */
class HardeningConfinementTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private final List<Integer> started = new ArrayList<>();

    @AfterEach
    void stop() {
        RestoredTasks.stop(started);
    }

    /** Rewrites every FileEntry of files.img in {@code images} through {@code f}. */
    static void rewriteFiles(Path images, UnaryOperator<FileEntry> f) throws IOException {
        Path p = images.resolve("files.img");
        ImageFile img = ImageReader.read(p, Magic.FILES);
        List<ImageEntry> out = new ArrayList<>();
        for (ImageEntry e : img.entries()) {
            out.add(ImageEntry.of(f.apply(e.message(FileEntry.class))));
        }
        ImageWriter.write(new ImageFile(Magic.FILES, out), p);
    }

    static Path copySample(String sample, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(Samples.criu(sample))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".img")).toList()) {
                Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return to;
    }

    /** A one-task image set holding {@code path} (as a regular file) at fd 3, /dev/null on 0-2. */
    static Path oneFile(Path dir, String path, Integer mode) throws IOException {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long devnull = b.regularFile("/dev/null", Linux.O_RDWR, 0);
        long f = b.regularFile(path, Linux.O_RDONLY, 0);
        b.fd(1, 0, devnull).fd(1, 1, devnull).fd(1, 2, devnull).fd(1, 3, f);
        Path images = b.write(dir);
        // the images name /dev/null a character device, as criu does (the Verifier needs the mode to tell)
        rewriteFiles(images, e -> e.hasReg() && e.getReg().getName().equals("/dev/null")
                ? e.toBuilder().setReg(e.getReg().toBuilder().setMode(Linux.S_IFCHR | 0666).clearSize()).build() : e);
        if (mode != null) {
            rewriteFiles(images, e -> e.hasReg() && e.getReg().getName().equals(path)
                    ? e.toBuilder().setReg(e.getReg().toBuilder().setMode(mode).clearSize()).build() : e);
        }
        return images;
    }

    /** Restores; on success records the pids and returns the fd 3 link of the (first) task. */
    @SuppressWarnings("unchecked")
    CliRunner restore(Path images, Path root, String... extra) {
        List<String> a = new ArrayList<>(List.of("restore", "--root", root.toString(), "--json", "--detach"));
        // Verifier gap (reported): it takes every character device for a host device, so a device node
        // restored under the root with --allow-devices is checked here by its /proc link instead
        if (!List.of(extra).contains("--allow-devices")) {
            a.add("--verify");
        }
        a.addAll(List.of(extra));
        a.add(images.toString());
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run(a.toArray(String[]::new)));
        if (r.out.contains("\"tasks\"")) { // a failed verification leaves --detach'ed tasks running
            Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
            for (Object o : (List<Object>) doc.get("tasks")) {
                started.add(((Number) ((Map<String, Object>) o).get("pid")).intValue());
            }
        }
        return r;
    }

    /** The case's files (inside and outside the root), JVM state: snapshots for {@link #assertClean}. */
    record State(Map<Integer, String> fds, Map<String, String> tree, Path top) {
    }

    static State snapshot(Path top) throws IOException {
        return new State(HardeningSupport.jvmFds(), HardeningSupport.tree(top), top);
    }

    static void assertClean(State s) throws IOException {
        assertEquals(List.of(), HardeningSupport.leftovers(s.fds(), s.top(), s.tree()));
    }

    @Test
    void dotDotStaysUnderTheRoot(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(tmp.resolve("secret"), "outside the root");
        Path images = oneFile(tmp.resolve("images"), "/../../../../secret", null);
        State s = snapshot(tmp);
        CliRunner r = restore(images, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("ENOENT") && r.err.contains("secret"), r.err);
        assertClean(s);
        // with a file of that name inside the root, it is that one that is opened
        Files.writeString(root.resolve("secret"), "inside");
        restore(images, root);
        assertEquals(1, started.size());
        assertEquals(root.resolve("secret").toRealPath().toString(),
                Files.readSymbolicLink(Path.of("/proc/" + started.get(0) + "/fd/3")).toString());
    }

    @Test
    void anAbsoluteSymlinkIsResolvedUnderTheRoot(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path secret = Files.writeString(tmp.resolve("secret"), "outside the root");
        Files.createSymbolicLink(root.resolve("link"), secret.toAbsolutePath());
        Files.createSymbolicLink(root.resolve("rel"), Path.of("../secret"));
        State s = snapshot(root);
        for (String p : List.of("/link", "/rel")) {
            CliRunner r = restore(oneFile(tmp.resolve("images" + p.substring(1)), p, null), root);
            assertEquals(1, r.code, r.toString());
            assertTrue(r.err.contains("ENOENT"), r.err);
        }
        assertEquals(List.of(), HardeningSupport.leftovers(s.fds(), root, HardeningSupport.tree(root)));
        assertEquals("outside the root", Files.readString(secret));
    }

    @Test
    void aSymlinkLoopIsAClearError(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.createSymbolicLink(root.resolve("a"), Path.of("b"));
        Files.createSymbolicLink(root.resolve("b"), Path.of("/a"));
        Path images = oneFile(tmp.resolve("images"), "/a", null);
        State s = snapshot(tmp);
        CliRunner r = restore(images, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("ELOOP") && r.err.contains("/a"), r.err);
        assertClean(s);
    }

    @Test
    void aFifoPathThatEscapesIsNotFollowed(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("b_fifo", Files.createDirectories(tmp.resolve("root")));
        Samples.mkfifo(tmp.resolve("outside.fifo"), "0600");
        Path images = copySample("b_fifo", tmp.resolve("images"));
        rewriteFiles(images, e -> e.hasReg() && e.getReg().getName().equals("/tmp/criu-work/run/b.fifo")
                ? e.toBuilder().setReg(e.getReg().toBuilder().setName("/tmp/../../../outside.fifo")).build() : e);
        State s = snapshot(tmp);
        CliRunner r = restore(images, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("does not exist under root"), r.err);
        assertClean(s);
        // the same through an absolute symlink at the fifo's own path
        Path images2 = copySample("b_fifo", tmp.resolve("images2"));
        Path fifo = root.resolve("tmp/criu-work/run/b.fifo");
        Files.delete(fifo);
        Files.createSymbolicLink(fifo, tmp.resolve("outside.fifo").toAbsolutePath());
        s = snapshot(tmp);
        r = restore(images2, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("does not exist under root"), r.err);
        assertClean(s);
    }

    @Test
    void aSocketNameThatEscapesIsRefused(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("c2_listenq", Files.createDirectories(tmp.resolve("root")));
        Path images = copySample("c2_listenq", tmp.resolve("images"));
        String escape = "/tmp/../../escaped.sock";
        rewriteFiles(images, e -> e.hasUsk() && e.getUsk().getName().size() > 0 && e.getUsk().getName().byteAt(0) == '/'
                ? e.toBuilder().setUsk(e.getUsk().toBuilder().setName(ByteString.copyFrom(escape, StandardCharsets.UTF_8)))
                        .build() : e);
        State s = snapshot(tmp);
        CliRunner r = restore(images, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("escaped.sock"), r.err);
        assertFalse(Files.exists(tmp.resolve("escaped.sock")));
        assertFalse(Files.exists(Path.of("/escaped.sock")));
        assertClean(s);
        // the directory of the name is a symlink out of the root
        Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(root.resolve("out"), tmp.resolve("elsewhere").toAbsolutePath());
        Path images2 = copySample("c2_listenq", tmp.resolve("images2"));
        rewriteFiles(images2, e -> e.hasUsk() && e.getUsk().getName().size() > 0 && e.getUsk().getName().byteAt(0) == '/'
                ? e.toBuilder().setUsk(e.getUsk().toBuilder().setName(ByteString.copyFromUtf8("/out/x.sock"))).build() : e);
        s = snapshot(tmp);
        r = restore(images2, root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("outside the root"), r.err);
        assertFalse(Files.exists(tmp.resolve("elsewhere/x.sock")));
        assertClean(s);
    }

    static boolean canMknod() {
        try {
            Path d = Files.createTempDirectory("mknod-probe");
            Process p = new ProcessBuilder("mknod", d.resolve("n").toString(), "c", "1", "3").redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            boolean ok = p.waitFor() == 0;
            Files.deleteIfExists(d.resolve("n"));
            Files.delete(d);
            return ok;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static void mknod(Path p, String type, int major, int minor) throws Exception {
        Process pr = new ProcessBuilder("mknod", "-m", "0666", p.toString(), type, Integer.toString(major), Integer.toString(minor))
                .inheritIO().start();
        assertEquals(0, pr.waitFor(), "mknod " + p);
    }

    @Test
    @EnabledIf(value = "canMknod", disabledReason = "mknod needs CAP_MKNOD (run the tests as root)")
    void deviceNodesAreRefusedUnlessAllowed(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        mknod(root.resolve("memdev"), "c", 1, 3);  // the same device as /dev/null: harmless to open
        mknod(root.resolve("blockdev"), "b", 7, 250);
        // (mode 0666 for both: mknod -m)
        State s = snapshot(tmp);
        // declared as devices in the image: refused before any open
        CliRunner r = restore(oneFile(tmp.resolve("i1"), "/memdev", Linux.S_IFCHR | 0666), root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("device node") && r.err.contains("--allow-devices") && r.err.contains("/memdev"), r.err);
        r = restore(oneFile(tmp.resolve("i2"), "/blockdev", Linux.S_IFBLK | 0660), root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("device node"), r.err);
        // not declared (no mode): what the path names is checked after the open
        r = restore(oneFile(tmp.resolve("i3"), "/memdev", null), root);
        assertEquals(1, r.code, r.toString());
        assertTrue(r.err.contains("device node") && r.err.contains("--allow-devices"), r.err);
        for (String i : List.of("i1", "i2", "i3")) {
            deleteTree(tmp.resolve(i));
        }
        assertClean(s);
        // allowed: restored and verified
        r = restore(oneFile(tmp.resolve("i4"), "/memdev", Linux.S_IFCHR | 0666), root, "--allow-devices");
        assertEquals(0, r.code, r.toString());
        assertEquals(root.resolve("memdev").toRealPath().toString(),
                Files.readSymbolicLink(Path.of("/proc/" + started.get(0) + "/fd/3")).toString());
    }

    @Test
    void theHostsHarmlessDevicesNeedNoOption(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        CliRunner r = restore(oneFile(tmp.resolve("images"), "/dev/zero", Linux.S_IFCHR | 0666), root);
        assertEquals(0, r.code, r.toString());
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
