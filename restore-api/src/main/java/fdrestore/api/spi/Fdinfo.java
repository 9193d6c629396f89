package fdrestore.api.spi;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The text of {@code /proc/PID/fdinfo/N}: "key:\tvalue" lines ({@code pos}, {@code flags}, {@code mnt_id},
 * {@code ino}) and the kind-specific ones ({@code tfd:} lines of an epoll, {@code clockid}, {@code ticks},
 * {@code it_value} of a timerfd, {@code eventfd-count} ...).
 */
public final class Fdinfo {
    private final List<String> lines;

    private Fdinfo(List<String> lines) {
        this.lines = List.copyOf(lines);
    }

    /** Parses the text of one fdinfo file. */
    public static Fdinfo parse(String text) {
        Objects.requireNonNull(text, "text");
        List<String> out = new ArrayList<>();
        for (String l : text.split("\n")) {
            if (!l.isBlank()) {
                out.add(l);
            }
        }
        return new Fdinfo(out);
    }

    /** Every line, in order. */
    public List<String> lines() {
        return lines;
    }

    /** The lines that start with {@code key + ":"} (the {@code tfd:} lines of an epoll), whole. */
    public List<String> lines(String key) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith(key + ":")) {
                out.add(l);
            }
        }
        return out;
    }

    /** The trimmed value of the first {@code key:} line, or null. */
    public String value(String key) {
        for (String l : lines) {
            if (l.startsWith(key + ":")) {
                return l.substring(key.length() + 1).trim();
            }
        }
        return null;
    }

    /** The value of {@code key} in {@code radix}, or empty when the line is absent. */
    public OptionalLong number(String key, int radix) {
        String v = value(key);
        if (v == null) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseUnsignedLong(v, radix));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("fdinfo line " + key + ": " + v + " is not a base-" + radix + " number");
        }
    }

    /** The value of {@code key}; fails with a message naming the key when it is absent. */
    public long require(String key, int radix) {
        OptionalLong v = number(key, radix);
        if (v.isEmpty()) {
            throw new IllegalArgumentException("fdinfo has no " + key + " line");
        }
        return v.getAsLong();
    }

    /** {@code pos:} (0 when absent). */
    public long pos() {
        return number("pos", 10).orElse(0);
    }

    /** {@code flags:}, octal, as the kernel prints them: the file status flags with O_CLOEXEC folded in. */
    public int flags() {
        return (int) require("flags", 8);
    }

    /** {@code mnt_id:}, or -1 when absent. */
    public int mntId() {
        return (int) number("mnt_id", 10).orElse(-1);
    }

    @Override
    public String toString() {
        return String.join("; ", lines);
    }
}
