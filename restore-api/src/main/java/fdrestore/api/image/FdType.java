package fdrestore.api.image;

/**
 * The kinds of fd CRIU records in {@code FdinfoEntry.type} (enum {@code fd_types}). The numbers are
 * CRIU's wire values. A value not listed here is kept as a number by the image model and reported
 * by validation as an unknown fd type.
 */
public enum FdType {
    UND(0), REG(1), PIPE(2), FIFO(3), INETSK(4), UNIXSK(5), EVENTFD(6), EVENTPOLL(7), INOTIFY(8),
    SIGNALFD(9), PACKETSK(10), TTY(11), FANOTIFY(12), NETLINKSK(13), NS(14), TUNF(15), EXT(16),
    TIMERFD(17), MEMFD(18), BPFMAP(19), PIDFD(20);

    private static final FdType[] BY_CODE = values();

    private final int code;

    FdType(int code) {
        this.code = code;
    }

    /** CRIU's wire value. */
    public int code() {
        return code;
    }

    /** The type with this wire value, or null when the value is not one CRIU defines. */
    public static FdType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
