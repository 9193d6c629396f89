package fdrestore.core.runtime;

/** Small thread helpers shared by the runtime and the restorer. */
public final class Threads {
    private Threads() {
    }

    /**
     * Waits until {@code t} has ended, even when interrupted (what it holds must be known before the
     * caller goes on); an interrupt is kept for the caller.
     */
    public static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
