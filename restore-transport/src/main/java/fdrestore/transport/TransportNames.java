package fdrestore.transport;

/** Abstract socket names of one restore run. */
public final class TransportNames {
    private TransportNames() {
    }

    /** The abstract name (without its leading NUL) of the endpoint of image task {@code pid} in run {@code runId}. */
    public static String name(String runId, int pid) {
        return "fdrestore-" + runId + "-" + pid;
    }
}
