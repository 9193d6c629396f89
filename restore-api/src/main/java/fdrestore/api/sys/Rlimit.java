package fdrestore.api.sys;

/** A {@code struct rlimit}; {@link Linux#RLIM_INFINITY} (-1) is unlimited. Compare with unsigned order. */
public record Rlimit(long soft, long hard) {
    @Override
    public String toString() {
        return "{soft " + show(soft) + ", hard " + show(hard) + "}";
    }

    private static String show(long v) {
        return v == Linux.RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(v);
    }
}
