package fdrestore.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
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

    /**
     * A writable copy of a sample's {@code root/} in {@code into}, made ready as its README asks: each
     * {@code <path>.NOTE} that stands for a fifo becomes that fifo (git cannot store fifos); notes for
     * socket paths are dropped, leaving the path free. Returns the new root.
     */
    public static Path prepareRoot(String sample, Path into) throws IOException {
        Path src = criu(sample).resolve("root");
        try (Stream<Path> walk = Files.walk(src)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path dst = into.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dst);
                } else if (p.getFileName().toString().endsWith(".NOTE")) {
                    Matcher m = FIFO_NOTE.matcher(Files.readString(p));
                    if (m.find()) {
                        String name = dst.getFileName().toString();
                        Path fifo = dst.resolveSibling(name.substring(0, name.length() - ".NOTE".length()));
                        mkfifo(fifo, m.group(1));
                    }
                } else {
                    Files.copy(p, dst, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return into;
    }

    /** mkfifo(1): Java has no call for it. */
    public static void mkfifo(Path path, String octalMode) throws IOException {
        Process p = new ProcessBuilder("mkfifo", "-m", octalMode, path.toString()).inheritIO().start();
        try {
            if (p.waitFor() != 0) {
                throw new IOException("mkfifo " + path + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
