package fdrestore.core.engine;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.Stage;
import java.util.ArrayList;
import java.util.List;

/** One open file description being restored: its plugin's restorer, its fd slots and its master. */
final class FileDesc {
    final FileInfo info;
    final String kind;
    final FileRestorer restorer;
    final List<Dependency> deps;
    final List<Fle> fles = new ArrayList<>();
    /** This file's position in the engine's list of files (hand-off tags, the cycle check). */
    final int index;
    Fle master;
    /** The master's prepare was called (it is called once). */
    boolean prepareCalled;
    /** The master's prepare calls ran in a successful shared batch. */
    boolean prepared;
    /** The shared batch failed on one of the master's prepare calls: the failure, for its open. */
    fdrestore.api.sys.SysException prepareFailure;
    /** Fds the prepare calls left open, the engine's until open is called; null when none. */
    java.util.List<fdrestore.api.spi.Batch.Ref> preparedFds;
    /** Set once the master's open reported its fd. */
    volatile boolean opened;

    FileDesc(int index, FileInfo info, String kind, FileRestorer restorer, List<Dependency> deps) {
        this.index = index;
        this.info = info;
        this.kind = kind;
        this.restorer = restorer;
        this.deps = List.copyOf(deps);
    }

    long id() {
        return info.id();
    }

    Stage stage() {
        return master.stage();
    }

    @Override
    public String toString() {
        return kind + " file " + info.id();
    }
}
