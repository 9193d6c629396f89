package fdrestore.api.spi;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a plugin records the file system entries it makes outside the restored processes (a socket file it
 * binds under the root, a ghost file, a directory made for a deleted name, a name linked for a remap), so
 * that a restore whose fdrestore dies (SIGKILL, power loss) leaves no file behind: {@code fdrestore cleanup},
 * also run at the start of every restore, removes what a dead run recorded and did not remove.
 *
 * <p>Call {@link #making} before the entry is made (it is on disk when the call returns), {@link #made}
 * once it exists (so that only that inode is ever removed), and {@link #gone} once it is removed again or
 * was never made. An entry the restore leaves on purpose (the socket file of a restored listener) needs no
 * call: a restore that completes drops its journal.
 */
public interface Journal {
    /** What an entry is; cleanup removes an entry only while it is still of this type. */
    enum Entry {
        /** A unix socket file (removed only when no socket is bound to it any more). */
        SOCKET,
        /** A regular file (a ghost, a name linked to a remap's link file). */
        FILE,
        /** A directory (removed only while empty). */
        DIRECTORY
    }

    /** A journal that records nothing (plans, tests, restores without a run directory). */
    Journal NONE = new Journal() {
        @Override
        public void making(Entry entry, Path path) {
        }

        @Override
        public void made(Entry entry, Path path) {
        }

        @Override
        public void gone(Path path) {
        }
    };

    /** {@code path} (absolute) is about to be made: recorded durably before this returns. */
    void making(Entry entry, Path path) throws IOException;

    /** {@code path} exists now, made by this restore: its inode is recorded. */
    void made(Entry entry, Path path) throws IOException;

    /** {@code path} is removed again (or was never made): nothing to clean up there. */
    void gone(Path path);
}
