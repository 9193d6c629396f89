package fdrestore.api.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** An image set that cannot be restored as it is: every problem found, each naming its image and entry. */
public final class ImageSetException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path dir;
    private final List<String> problems;

    public ImageSetException(Path dir, List<String> problems) {
        super(format(dir, problems));
        this.dir = dir;
        this.problems = List.copyOf(problems);
    }

    private static String format(Path dir, List<String> problems) {
        if (problems.size() == 1) {
            return dir + ": " + problems.get(0);
        }
        StringBuilder sb = new StringBuilder(dir + ": " + problems.size() + " problems:");
        for (String p : problems) {
            sb.append("\n  - ").append(p);
        }
        return sb.toString();
    }

    /** The image directory. */
    public Path dir() {
        return dir;
    }

    /** Every problem, one line each. */
    public List<String> problems() {
        return problems;
    }
}
