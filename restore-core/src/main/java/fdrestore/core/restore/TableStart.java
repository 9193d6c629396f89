package fdrestore.core.restore;

import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.core.runtime.Threads;
import java.util.List;

/** {@link TaskRuntime#startAll} on a thread of its own; its result or its failure is awaited. */
final class TableStart {
    private final Thread thread;
    private volatile List<ExecutorTaskTable> tables;
    private volatile Throwable failure;

    TableStart(TaskRuntime runtime, int[] pids, int[] floors) {
        thread = new Thread(() -> {
            try {
                tables = runtime.startAll(pids, floors);
            } catch (Throwable t) {
                failure = t;
            }
        }, "fdrestore-table-start");
        thread.setDaemon(true);
        thread.start();
    }

    List<ExecutorTaskTable> await() throws SysException {
        awaitQuietly();
        Throwable f = failure;
        if (f instanceof SysException e) {
            throw e;
        } else if (f instanceof RuntimeException e) {
            throw e;
        } else if (f instanceof Error e) {
            throw e;
        } else if (f != null) {
            throw new IllegalStateException(f);
        }
        return tables;
    }

    /** Waits for the start to end, either way (uninterruptibly: its tables must be known to close them). */
    void awaitQuietly() {
        Threads.joinUninterruptibly(thread);
    }
}
