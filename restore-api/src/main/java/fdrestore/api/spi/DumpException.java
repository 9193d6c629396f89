package fdrestore.api.spi;

/**
 * A live file (or process) that cannot be dumped. The message says what and why; the dump adds the task,
 * the fd and its link. An {@link #unsupported} one is a state the images cannot express (a kind no plugin
 * dumps, an established TCP connection ...): {@code fdrestore dump --skip-unknown} leaves such files out and
 * records them in its report instead of failing.
 */
public class DumpException extends Exception {
    private static final long serialVersionUID = 1L;

    private final boolean unsupported;

    public DumpException(String message) {
        this(message, null, false);
    }

    public DumpException(String message, Throwable cause) {
        this(message, cause, false);
    }

    protected DumpException(String message, Throwable cause, boolean unsupported) {
        super(message, cause);
        this.unsupported = unsupported;
    }

    /** A state the images cannot express: skippable with --skip-unknown. */
    public static DumpException unsupported(String message) {
        return new DumpException(message, null, true);
    }

    /** True for {@link #unsupported} states. */
    public boolean isUnsupported() {
        return unsupported;
    }
}
