package fdrestore.testkit;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Locates the shipped image samples for tests. */
public final class Samples {
    private Samples() {
    }

    /** The images-samples directory of this checkout (system property fdrestore.samples, set by the build). */
    public static Path root() {
        String p = System.getProperty("fdrestore.samples");
        Path dir = p != null ? Paths.get(p) : Paths.get("images-samples");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("images-samples not found at " + dir.toAbsolutePath()
                    + " (set -Dfdrestore.samples)");
        }
        return dir;
    }

    /** One CRIU 4.2 sample set, for example {@code criu("a_pipe")}. */
    public static Path criu(String name) {
        return root().resolve("criu-4.2").resolve(name);
    }

    private static final Pattern FIFO_NOTE = Pattern.compile("is a named FIFO \\(mode (0[0-7]+)\\)");

    /** {@link #prepareRoot(Path, Path)} for the CRIU sample {@code sample}. */
    public static Path prepareRoot(String sample, Path into) throws IOException {
        return prepareRoot(criu(sample), into);
    }

    /**
     * A writable copy of an image set's {@code root/} in {@code into}, with what git cannot keep made again
     * from the images themselves: each directory the images name (git keeps no empty one), each regular
     * file's and directory's mode ({@code reg.mode} of files.img; git keeps only the x bit), and each fifo
     * node the images open by path (git stores no fifos). A
     * {@code <path>.NOTE} that says a path is a fifo becomes that fifo; other notes are dropped, leaving
     * their path free. Paths the images name as deleted (remap-fpath) are left alone: the restore makes
     * them. Returns {@code into}.
     */
    public static Path prepareRoot(Path images, Path into) throws IOException {
        return prepareRoot(images, images.resolve("root"), into);
    }

    /**
     * As {@link #prepareRoot(Path, Path)}, for a layout whose root is not {@code images/root}: the image
     * sets of {@code fdrestore dump} keep theirs beside {@code images/}.
     */
    public static Path prepareRoot(Path images, Path src, Path into) throws IOException {
        try (Stream<Path> walk = Files.walk(src)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path dst = into.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(dst);
                } else if (p.getFileName().toString().endsWith(".NOTE")) {
                    Matcher m = FIFO_NOTE.matcher(Files.readString(p));
                    if (m.find()) {
                        String name = dst.getFileName().toString();
                        Path fifo = dst.resolveSibling(name.substring(0, name.length() - ".NOTE".length()));
                        mkfifo(fifo, m.group(1));
                    }
                } else if (isSocket(p)) {
                    // git stores no socket: this one was left by a restore into the sample's own root, and
                    // copied it would stand where the restore binds its socket (issue 23 item 8)
                    continue;
                } else {
                    Files.copy(p, dst, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        Path files = images.resolve(Magic.FILES.fileName());
        if (!Files.exists(files)) {
            return into;
        }
        Set<Long> deleted = new HashSet<>();
        Path remaps = images.resolve(Magic.REMAP_FPATH.fileName());
        if (Files.exists(remaps)) {
            for (ImageEntry e : ImageReader.read(remaps, Magic.REMAP_FPATH).entries()) {
                deleted.add((long) e.message(RemapFilePathEntry.class).getOrigId());
            }
        }
        Map<Long, RegFileEntry> regs = new HashMap<>();
        List<Long> fifos = new ArrayList<>();
        for (ImageEntry e : ImageReader.read(files, Magic.FILES).entries()) {
            FileEntry f = e.message(FileEntry.class);
            if (f.hasReg()) {
                regs.put((long) f.getReg().getId(), f.getReg());
            } else if (f.hasFifo()) {
                fifos.add((long) f.getFifo().getRegfId());
            }
        }
        for (RegFileEntry r : regs.values()) {
            Path p = under(into, r.getName());
            if (p != null && (r.getMode() & 0170000) == 0040000 && !deleted.contains((long) r.getId())) {
                Files.createDirectories(p); // git keeps no empty directory
            }
        }
        for (long id : fifos) {
            RegFileEntry r = regs.get(id);
            Path node = r == null || deleted.contains(id) ? null : under(into, r.getName());
            if (node != null && !Files.exists(node, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(node.getParent());
                mkfifo(node, Integer.toOctalString(r.getMode() & 07777));
            }
        }
        // Deepest paths first, so a directory made read-only never stops a change below it.
        List<RegFileEntry> byDepth = new ArrayList<>(regs.values());
        byDepth.sort(Comparator.comparingInt((RegFileEntry r) -> r.getName().length()).reversed());
        for (RegFileEntry r : byDepth) {
            Path p = under(into, r.getName());
            if (p == null || deleted.contains((long) r.getId()) || !r.hasMode()
                    || !Files.exists(p, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(p)) {
                continue;
            }
            if ((r.getMode() & 07000) == 0) {
                Files.setPosixFilePermissions(p, permissions(r.getMode()));
            } else {
                run("chmod", Integer.toOctalString(r.getMode() & 07777), p.toString()); // setuid, setgid, sticky
            }
        }
        return into;
    }

    private static boolean isSocket(Path p) throws IOException {
        return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .isOther() && ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000) == 0140000;
    }

    /** {@code path} (absolute, as the images name it) below {@code root}; null for the root itself. */
    private static Path under(Path root, String path) {
        String rel = path.replaceFirst("^/+", "");
        return rel.isEmpty() ? null : root.resolve(rel);
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE, high bit first
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                out.add(bits[i]);
            }
        }
        return out;
    }

    /** mkfifo(1): Java has no call for it. */
    public static void mkfifo(Path path, String octalMode) throws IOException {
        run("mkfifo", "-m", octalMode, path.toString());
    }

    private static void run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).inheritIO().start();
        try {
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
