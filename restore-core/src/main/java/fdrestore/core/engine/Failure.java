package fdrestore.core.engine;

import fdrestore.api.spi.RestoreException;

/** A failure of one slot, turned into a RestoreException by the loop. */
final class Failure extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Fle fle;

    Failure(Fle fle, String message) {
        this(fle, message, null);
    }

    Failure(Fle fle, String message, Throwable cause) {
        super(message, cause, false, false);
        this.fle = fle;
    }

    RestoreException toException() {
        if (fle == null) {
            return new RestoreException(getMessage(), getCause());
        }
        return new RestoreException(fle + ": " + getMessage(), getCause(), fle.info.pid(), fle.fd(),
                fle.desc.id(), null);
    }
}
