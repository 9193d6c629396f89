package fdrestore.app.cli;

import fdrestore.core.restore.Restorer;
import java.io.PrintWriter;
import java.util.ArrayList;

/**
 * Until fdrestore is done with the tree, a signal that ends this JVM (Ctrl-C, SIGTERM, SIGHUP: the
 * shutdown hooks run) stops it: during the restore every process made so far, after it the whole
 * restored tree, and says so on stderr. From the moment the tree is left running on purpose
 * ({@code --detach}) or stopped, it does nothing. It is removed at the end of the command (a server
 * runs many), unless the JVM is already shutting down: then it runs, and that is not an error.
 */
final class StopOnSignal extends Thread {
    private final PrintWriter err;
    private volatile Restorer restorer;
    private volatile Restorer.Result result;
    private volatile boolean done;
    private boolean installed;

    StopOnSignal(PrintWriter err) {
        super("fdrestore-stop-on-signal");
        this.err = err;
    }

    void install() {
        try {
            Runtime.getRuntime().addShutdownHook(this);
            installed = true;
        } catch (IllegalStateException shuttingDown) {
            // a signal came before the restore began: nothing to stop
        }
    }

    void restoring(Restorer r) {
        restorer = r;
    }

    void restored(Restorer.Result r) {
        result = r;
    }

    /** The tree is stopped, or left running on purpose: nothing more to do, now or on a signal. */
    void done() {
        done = true;
        if (installed) {
            try {
                Runtime.getRuntime().removeShutdownHook(this);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (and does nothing, being done)
            }
            installed = false;
        }
    }

    @Override
    public void run() {
        if (done) {
            return;
        }
        Restorer.Result r = result;
        Restorer rs = restorer;
        int n;
        if (r != null) {
            n = r.tree().killAll(new ArrayList<>(r.pidMap().values()));
            err.println("Interrupted: stopped the restored tree (" + n + " process" + (n == 1 ? "" : "es") + ").");
        } else if (rs != null) {
            n = rs.stopProcesses();
            err.println("Interrupted during the restore: stopped the " + n + " process" + (n == 1 ? "" : "es")
                    + " it had started; nothing is left running.");
        } else {
            return;
        }
        err.flush();
    }
}
