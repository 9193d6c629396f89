package fdrestore.core.image;

import java.nio.file.Path;

/** An image directory: tasks, their fd tables and the files they refer to. (Being written: issue 2.) */
public final class ImageSet {
    private final Path dir;

    private ImageSet(Path dir) {
        this.dir = dir;
    }

    /** The image directory. */
    public Path dir() {
        return dir;
    }
}
