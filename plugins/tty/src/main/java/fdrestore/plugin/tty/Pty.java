package fdrestore.plugin.tty;

import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.util.ArrayList;
import java.util.List;

/**
 * One pseudo-terminal of the images: its index, its master file, its slave files (each its own open file
 * description) and the data queued in each direction. Immutable; the per-restore state (the index the
 * host actually gave) is a {@link PtyState}.
 *
 * @param toMaster data queued for the master's reader (tty-data of the master's tty-info id: written by
 *                 the slave side before the dump), or null
 * @param toSlave  data queued for the slaves' reader (tty-data of the slave's tty-info id: written by the
 *                 master side), or null
 */
record Pty(int index, TtyFile master, List<TtyFile> slaves, byte[] toMaster, byte[] toSlave) {
    Pty {
        slaves = List.copyOf(slaves);
    }

    List<Long> slaveIds() {
        List<Long> out = new ArrayList<>();
        for (TtyFile s : slaves) {
            out.add(s.id());
        }
        return out;
    }

    boolean locked() {
        return master.info().getLocked();
    }

    /**
     * The path of slave {@code slavePath} (as the images name it) for the pty the host gave index
     * {@code actual}: the last component is replaced when the index changed ({@code pty-any-index}).
     */
    static String slavePath(String imagePath, int imageIndex, int actual) {
        if (actual == imageIndex) {
            return imagePath;
        }
        String suffix = "/" + imageIndex;
        if (imagePath.endsWith(suffix)) {
            return imagePath.substring(0, imagePath.length() - suffix.length()) + "/" + actual;
        }
        return "/dev/pts/" + actual;
    }
}
