package fdrestore.plugin.regularfile;

import fdrestore.core.sys.Linux;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The character devices that resolve on the host instead of under the restore root: the kernel's
 * memory and random devices and the tty devices a process may hold as a plain file.
 */
final class HostDevices {
    private static final Set<String> NAMES = Set.of(
            "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx");
    private static final Pattern PTS = Pattern.compile("/dev/pts/[0-9]+");

    private HostDevices() {
    }

    /** True if {@code path} names one of the host devices. */
    static boolean isHostDevicePath(String path) {
        return NAMES.contains(path) || PTS.matcher(path).matches();
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
