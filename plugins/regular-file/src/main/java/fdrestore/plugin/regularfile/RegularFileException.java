package fdrestore.plugin.regularfile;

/** A regular file that cannot be restored as the images describe it; the message names the file. */
public final class RegularFileException extends Exception {
    private static final long serialVersionUID = 1L;

    public RegularFileException(String message) {
        super(message);
    }

    public RegularFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
