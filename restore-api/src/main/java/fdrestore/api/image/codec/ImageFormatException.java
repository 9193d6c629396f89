package fdrestore.api.image.codec;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An image that cannot be decoded. The message names the image file, the entry index (or -1 for the
 * header) and the byte offset where decoding stopped.
 */
public final class ImageFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path image;
    private final int entry;
    private final long offset;

    public ImageFormatException(Path image, int entry, long offset, String problem) {
        this(image, entry, offset, problem, null);
    }

    public ImageFormatException(Path image, int entry, long offset, String problem, Throwable cause) {
        super(format(image, entry, offset, problem), cause);
        this.image = image;
        this.entry = entry;
        this.offset = offset;
    }

    private static String format(Path image, int entry, long offset, String problem) {
        String where = entry < 0 ? "header" : "entry " + entry;
        return image + ": " + where + " at byte " + offset + ": " + problem;
    }

    /** The image file. */
    public Path image() {
        return image;
    }

    /** The index of the entry being decoded, or -1 for the header. */
    public int entry() {
        return entry;
    }

    /** The byte offset in the file where the problem was found. */
    public long offset() {
        return offset;
    }
}
