package fdrestore.plugin.regularfile;

import fdrestore.api.sys.Linux;
import java.util.Set;

/**
 * The character devices that resolve on the host instead of under the restore root: the kernel's
 * memory and random devices and {@code /dev/tty} (each process's own terminal). Nothing else: a pty
 * ({@code /dev/ptmx}, {@code /dev/pts/N}) or any other device named by a regular-file entry is a device
 * node under the root, refused without --allow-devices (a {@code /dev/pts/0} opened on the host would be
 * another process's terminal).
 */
final class HostDevices {
    private static final Set<String> NAMES = Set.of(
            "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty");

    private HostDevices() {
    }

    /** True if {@code path} names one of the host devices. */
    static boolean isHostDevicePath(String path) {
        return NAMES.contains(path);
    }

    /**
     * True if the file is a host character device: its recorded mode is S_IFCHR (or, without a
     * recorded mode, its path says so) and its path is one of {@link #isHostDevicePath}.
     */
    static boolean isHostDevice(String path, boolean hasMode, int mode) {
        if (!isHostDevicePath(path)) {
            return false;
        }
        return !hasMode || (mode & Linux.S_IFMT) == Linux.S_IFCHR;
    }
}
