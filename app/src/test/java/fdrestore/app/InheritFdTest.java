package fdrestore.app;

import fdrestore.app.cli.RestoredTasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.sys.FdLeaks;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.core.restore.InheritFds;
import fdrestore.testkit.ImageSetBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restore --inherit-fd fd[N]:KEY} in-process: fd N is this JVM's own, so the restored fd must be the
 * very open file of this JVM (kcmp). A pipe by criu's pipe key, a regular file dumped as external by its
 * external name; an external file with no mapping fails before anything starts, in one line naming the
 * task, the fd and the resource, and leaves nothing; malformed or closed mappings are usage errors.
 */
class InheritFdTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String EXT = "file[7:123456]";

    @TempDir
    Path dir;

    private final List<Integer> started = new ArrayList<>();
    private final List<Integer> jvmFds = new ArrayList<>();

    @AfterEach
    void stop() {
        RestoredTasks.stop(started);
        jvmFds.forEach(Sys::closeQuietly);
    }

    /** Task 1: fd 0 the read end of a pipe (its write end outside the images), fd 3 an external file. */
    private Path images(long[] pipeId) throws Exception {
        ImageSetBuilder b = new ImageSetBuilder();
        b.task(1, 0);
        long[] ends = b.pipe(null);
        long ext = b.regularFile("/" + EXT, Linux.O_RDWR | Linux.O_LARGEFILE, 0);
        b.fd(1, 0, ends[0]).fd(1, 3, ext);
        Path d = b.write(dir.resolve("images"));
        // criu's --external file[]: the entry holds the external name and ext=true
        Path files = d.resolve(Magic.FILES.fileName());
        List<ImageEntry> out = new ArrayList<>();
        for (ImageEntry e : ImageReader.read(files, Magic.FILES).entries()) {
            FileEntry f = (FileEntry) e.message();
            if (f.hasPipe() && f.getId() == (int) ends[0]) {
                pipeId[0] = Integer.toUnsignedLong(f.getPipe().getPipeId());
            }
            if (f.hasReg() && f.getId() == (int) ext) {
                f = f.toBuilder().setReg(f.getReg().toBuilder().setName(EXT).setExt(true)).build();
            }
            out.add(ImageEntry.of(f));
        }
        ImageWriter.write(new ImageFile(Magic.FILES, out), files);
        return d;
    }

    private static boolean sameFile(int pid, int fd, int jvmFd) throws Exception {
        return Sys.kcmp(pid, (int) ProcessHandle.current().pid(), Linux.KCMP_FILE, fd, jvmFd) == 0;
    }

    @Test
    void anExternalFileWithoutMappingFailsBeforeAnythingStartsNamingTaskFdAndResource() throws Exception {
        Path images = images(new long[1]);
        Map<Integer, String> before = Sys.fdTargets();
        CliRunner r = assertTimeoutPreemptively(LIMIT, () -> CliRunner.run("restore", "--hold", "--then=kill", images.toString()));
        assertEquals(1, r.code, r.toString());
        String line = r.err.strip();
        assertTrue(line.contains("task 1 fd 3: external file " + EXT + " (dumped with criu --external) has no --inherit-fd"
                + " mapping: give one with --inherit-fd fd[N]:" + EXT), r.toString());
        assertEquals(1, line.lines().count(), "one line: " + r);
        assertEquals(Map.of(), FdLeaks.gainedSince(before), "nothing left in this JVM's table");
    }

    @Test
    void aPipeAndAnExternalFileAreTheCallersOwnOpenFiles() throws Exception {
        long[] pipeId = new long[1];
        Path images = images(pipeId);
        int[] p = Sys.pipe2(Linux.O_CLOEXEC);
        jvmFds.add(p[0]);
        jvmFds.add(p[1]);
        Path data = Files.writeString(dir.resolve("external.log"), "x");
        int file = Sys.open(data.toString(), Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        jvmFds.add(file);

        Map<Integer, Integer> pids = assertTimeoutPreemptively(LIMIT, () -> CliRunner.restoreDetached(started, images,
                Path.of("/"), "--hold", "--inherit-fd", "fd[" + p[0] + "]:pipe:[" + pipeId[0] + "]",
                "--inherit-fd", "fd[" + file + "]:" + EXT)).pids();
        int pid = pids.get(1);
        assertTrue(sameFile(pid, 0, p[0]), "fd 0 is this JVM's pipe read end, not a new pipe");
        assertTrue(sameFile(pid, 3, file), "fd 3 is this JVM's open of " + data);
        Sys.write(p[1], "through".getBytes(), 0, 7);
        assertEquals("pipe:[" + Files.readAttributes(Path.of("/proc/self/fd/" + p[0]),
                java.nio.file.attribute.BasicFileAttributes.class).fileKey().toString().replaceAll(".*ino=(\\d+).*", "$1") + "]",
                Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/0")).toString());
    }

    @Test
    void malformedOrClosedMappingsAreUsageErrors() throws Exception {
        Path images = images(new long[1]);
        for (String bad : List.of("fd3:pipe:[1]", "fd[3]", "fd[-1]:x", "pipe:[1]")) {
            CliRunner r = CliRunner.run("restore", "--inherit-fd", bad, images.toString());
            assertEquals(2, r.code, bad + ": " + r);
            assertTrue(r.err.contains("expected fd[N]:KEY"), r.toString());
        }
        CliRunner twice = CliRunner.run("restore", "--inherit-fd", "fd[0]:a", "--inherit-fd", "fd[1]:/a", images.toString());
        assertEquals(2, twice.code, twice.toString());
        assertTrue(twice.err.contains("is already mapped to fd 0"), twice.toString());
        CliRunner closed = CliRunner.run("restore", "--inherit-fd", "fd[987654]:" + EXT, images.toString());
        assertEquals(2, closed.code, closed.toString());
        assertTrue(closed.err.contains("fd 987654 is not open in fdrestore"), closed.toString());
    }

    @Test
    void keysAreCriusNames() throws Exception {
        InheritFds m = InheritFds.parse(List.of("fd[3]:/tmp/log", "fd[4]:pipe:[9]"));
        assertEquals(Map.of("tmp/log", 3, "pipe:[9]", 4), m.byKey(), "a path is compared without its leading slash");
    }
}
