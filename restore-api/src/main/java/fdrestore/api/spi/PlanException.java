package fdrestore.api.spi;

/** A file that cannot be restored, found while planning (before any syscall). */
public final class PlanException extends Exception {
    private static final long serialVersionUID = 1L;

    public PlanException(String message) {
        super(message);
    }

    public PlanException(String message, Throwable cause) {
        super(message, cause);
    }
}
