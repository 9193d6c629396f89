package fdrestore.core.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Locates the holder program (see src/main/c/fdrestore-holder.c). */
public final class Holder {
    private static Path extracted;

    private Holder() {
    }

    /**
     * The holder: {@code $fdrestore.home/lib/fdrestore-holder} in a distribution, else the copy built into
     * this jar, extracted once to a private temporary file.
     */
    public static synchronized String path() {
        String home = System.getProperty("fdrestore.home");
        if (home != null) {
            Path p = Path.of(home, "lib", "fdrestore-holder");
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
                Path p = dir.resolve("fdrestore-holder");
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
