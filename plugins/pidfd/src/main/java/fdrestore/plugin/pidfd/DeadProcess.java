package fdrestore.plugin.pidfd;

import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The process that the pidfds of one {@code ino} referred to, gone: on the first {@link #take()}, a helper
 * ({@code sleep}) is started, one pidfd per file is opened on it in the JVM's table, and it is killed and
 * reaped, so every pidfd refers to one process that is gone. Each file takes one; {@link #closeLeft()}
 * closes those no file took (a restore that failed first).
 */
final class DeadProcess {
    private final long ino;
    private final int files;
    private final ArrayDeque<Integer> left = new ArrayDeque<>();

    DeadProcess(long ino, int files) {
        this.ino = ino;
        this.files = files;
    }

    /** A pidfd of the gone process in the JVM's table, the caller's to close. */
    synchronized int take() throws IOException {
        if (left.isEmpty()) {
            make();
        }
        return left.poll();
    }

    private void make() throws IOException {
        Process p = new ProcessBuilder("sleep", "3600").redirectErrorStream(true).start();
        try {
            for (int i = 0; i < files; i++) {
                left.add((int) Syscalls.local("pidfd_open", (int) p.pid(), 0));
            }
        } catch (SysException e) {
            closeLeft(e);
            throw e;
        } finally {
            p.destroyForcibly();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    throw new IOException("the helper process " + p.pid() + " of pidfd ino " + ino + " did not die");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while reaping the helper process of pidfd ino " + ino, e);
            }
        }
    }

    /** Closes the pidfds no file took; a failure to close is added to {@code failure} (may be null). */
    synchronized void closeLeft(Throwable failure) {
        while (!left.isEmpty()) {
            try {
                Syscalls.closeLocal(left.poll());
            } catch (SysException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "gone process (ino " + ino + ", " + files + " pidfds)";
    }
}
