package fdrestore.core.engine;

import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.Stage;

/** One fd slot of one task that refers to a {@link FileDesc}. Its stage is read by any thread. */
final class Fle {
    final int index;          // global index, the transport tag of this slot
    final FleInfo info;
    final FileDesc desc;
    final TaskLoop task;
    private volatile Stage stage = Stage.INITIALIZED;
    /** For an in-flight slot ({@link FleInfo#isInFlight}): the temporary fd its master opened, else -1. */
    int heldFd = -1;

    Fle(int index, FleInfo info, FileDesc desc, TaskLoop task) {
        this.index = index;
        this.info = info;
        this.desc = desc;
        this.task = task;
    }

    Stage stage() {
        return stage;
    }

    /** Moves the stage forward; never backward. */
    void advance(Stage to) {
        if (to.compareTo(stage) > 0) {
            stage = to;
        }
    }

    boolean isMaster() {
        return desc.master == this;
    }

    int fd() {
        return info.fd();
    }

    /** The fd that holds the file in its task's table now: its target, or an in-flight slot's held fd. */
    int liveFd() {
        return info.isInFlight() ? heldFd : info.fd();
    }

    @Override
    public String toString() {
        return info + " (" + desc + ")";
    }
}
