package fdrestore.core.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Locates the holder program (see src/main/c/fdrestore-holder.c), and recognises it in a command line. */
public final class Holder {
    /** The holder's file name, in a distribution and when extracted. */
    public static final String NAME = "fdrestore-holder";

    private static Path extracted;

    private Holder() {
    }

    /**
     * True when {@code argv0}, the first word of a process's command line, is a holder: a task restored
     * by fdrestore that runs no command of its own. Its command line (ready, control and gate fd numbers
     * of a restore that is over) must never be run again: a restore of a dump of it holds its fds anew.
     */
    public static boolean isHolder(String argv0) {
        int slash = argv0.lastIndexOf('/');
        return argv0.substring(slash + 1).equals(NAME);
    }

    /**
     * The holder: {@code $fdrestore.home/lib/fdrestore-holder} in a distribution, else the copy built into
     * this jar, extracted once to a private temporary file.
     */
    public static synchronized String path() {
        String home = System.getProperty("fdrestore.home");
        if (home != null) {
            Path p = Path.of(home, "lib", NAME);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        if (extracted == null || !Files.isExecutable(extracted)) {
            try (InputStream in = Holder.class.getResourceAsStream("fdrestore-holder")) {
                if (in == null) {
                    throw new IllegalStateException("the holder program is missing from this build of fdrestore");
                }
                Path dir = Files.createTempDirectory("fdrestore-holder",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                Path p = dir.resolve(NAME);
                Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
                p.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                extracted = p;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the holder program", e);
            }
        }
        return extracted.toString();
    }
}
