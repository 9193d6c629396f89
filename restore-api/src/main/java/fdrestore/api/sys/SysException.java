package fdrestore.api.sys;

import java.io.IOException;

/**
 * A failed system call: names the call, its arguments as the caller described them, and the errno.
 * EAGAIN is never reported as an exception by the facade; it is a result ("again").
 */
public class SysException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public SysException(String call, int errno) {
        super(call + ": " + Errno.describe(errno));
        this.call = call;
        this.errno = errno;
    }

    /** The call with its arguments, for example {@code open("/tmp/x", O_RDONLY)}. */
    public String call() {
        return call;
    }

    /** The errno value of the failure. */
    public int errno() {
        return errno;
    }
}
