package fdrestore.plugin.inetsocket;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.util.Arrays;

/**
 * One setsockopt(2) of a restore: level, name, raw value and a readable label. {@code fallbackName}
 * (when not 0) is tried when the call is refused with EPERM (SO_SNDBUFFORCE -> SO_SNDBUF without
 * CAP_NET_ADMIN); {@code optional} options are skipped when the kernel does not know them (ENOPROTOOPT,
 * EINVAL) and their value is the kernel's default anyway.
 */
record SockOpt(int level, int name, byte[] value, String label, int fallbackName, boolean optional) {
    static final int ENOPROTOOPT = 92;

    SockOpt {
        value = value.clone();
    }

    static SockOpt ofInt(int level, int name, int v, String label) {
        return new SockOpt(level, name, InetConst.intValue(v), label + "=" + Integer.toUnsignedString(v), 0, false);
    }

    static SockOpt ofBool(int level, int name, boolean v, String label) {
        return new SockOpt(level, name, InetConst.intValue(v ? 1 : 0), label + "=" + (v ? 1 : 0), 0, false);
    }

    /** The int value, for options whose value is one int. */
    int intValue() {
        return value.length == 4 ? InetConst.intAt(value, 0) : -1;
    }

    /** Applies the option to {@code fd} of {@code table}. */
    void apply(TaskTable table, int fd) throws SysException {
        try {
            table.setsockopt(fd, level, name, value);
        } catch (SysException e) {
            if (e.errno() == Errno.EPERM && fallbackName != 0) {
                table.setsockopt(fd, level, fallbackName, value);
                return;
            }
            if (optional && (e.errno() == ENOPROTOOPT || e.errno() == Errno.EINVAL)) {
                return;
            }
            throw e;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SockOpt s && s.level == level && s.name == name && Arrays.equals(s.value, value)
                && s.fallbackName == fallbackName && s.optional == optional;
    }

    @Override
    public int hashCode() {
        return (level * 31 + name) * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return label;
    }
}
