package fdrestore.transport;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.KernelRandom;
import java.nio.charset.StandardCharsets;

/** Abstract socket names of one restore run. */
public final class TransportNames {
    /** Longest run id accepted: keeps "fdrestore-RUNID-PID" well inside the 107 bytes of sun_path. */
    public static final int MAX_RUN_ID_LENGTH = 64;

    /** sun_path holds 108 bytes, the first of which is the NUL of the abstract namespace. */
    static final int MAX_NAME_BYTES = 107;

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private TransportNames() {
    }

    /** A fresh random run id: 16 lower-case hex characters (64 bits from {@link KernelRandom}). */
    public static String newRunId() {
        long r = KernelRandom.nextLong();
        char[] c = new char[16];
        for (int i = 0; i < 16; i++) {
            c[i] = HEX[(int) (r >>> (60 - 4 * i)) & 0xf];
        }
        return new String(c);
    }

    /**
     * Checks that {@code runId} is 1..{@value #MAX_RUN_ID_LENGTH} characters of {@code [0-9A-Za-z_]}.
     *
     * @return {@code runId}
     */
    public static String checkRunId(String runId) {
        if (runId == null || runId.isEmpty() || runId.length() > MAX_RUN_ID_LENGTH) {
            throw new IllegalArgumentException("run id must be 1.." + MAX_RUN_ID_LENGTH + " characters: " + runId);
        }
        for (int i = 0; i < runId.length(); i++) {
            char ch = runId.charAt(i);
            boolean ok = ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_';
            if (!ok) {
                throw new IllegalArgumentException("run id may only hold [0-9A-Za-z_]: " + runId);
            }
        }
        return runId;
    }

    /** The abstract name (without its leading NUL) of the endpoint of image task {@code pid} in run {@code runId}. */
    public static String name(String runId, int pid) {
        return "fdrestore-" + runId + "-" + pid;
    }

    /**
     * The {@code struct sockaddr_un} of that endpoint: sa_family AF_UNIX (u16 little-endian), a NUL byte
     * (abstract namespace) and the name, with no trailing NUL; its length is the address length.
     */
    public static byte[] address(String runId, int pid) {
        byte[] n = name(runId, pid).getBytes(StandardCharsets.UTF_8);
        if (n.length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("abstract unix name too long: " + n.length + " bytes");
        }
        byte[] a = new byte[3 + n.length];
        a[0] = (byte) Linux.AF_UNIX;
        a[1] = (byte) (Linux.AF_UNIX >> 8);
        // a[2] = 0: the abstract namespace
        System.arraycopy(n, 0, a, 3, n.length);
        return a;
    }
}
