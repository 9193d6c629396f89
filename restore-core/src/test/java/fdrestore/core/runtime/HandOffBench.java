package fdrestore.core.runtime;

import fdrestore.api.spi.Batch;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;

/**
 * Not a test: measures the hand-off cost. Run with the test class path:
 * {@code java -Djnr.ffi.x86asm.enabled=false -cp ... fdrestore.core.runtime.HandOffBench}.
 */
public final class HandOffBench {
    private HandOffBench() {
    }

    public static void main(String[] args) throws Exception {
        TaskRuntime.warmUp();
        try (TaskRuntime rt = new TaskRuntime()) {
            ExecutorTaskTable t = rt.start(1, 1000);
            int nul = t.open("/dev/null", Linux.O_RDONLY, 0);
            int jvmNul = Sys.open("/dev/null", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
            int n = 200_000;
            for (int round = 0; round < 3; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    t.fcntl(nul, Linux.F_GETFD, 0);
                }
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    Sys.fcntl(jvmNul, Linux.F_GETFD, 0); // the same syscall on this thread
                }
                long t2 = System.nanoTime();
                int m = n / 10;
                for (int i = 0; i < m; i++) {
                    Batch b = t.batch();
                    Batch.Ref f = b.fd(nul);
                    for (int k = 0; k < 10; k++) {
                        b.fcntl(f, Linux.F_GETFD, 0);
                    }
                    b.run();
                }
                long t3 = System.nanoTime();
                System.out.printf("round %d: hand-off fcntl %.2f us/call; direct call %.2f us/call; "
                        + "batch of 10 fcntl %.2f us/batch%n", round, (t1 - t0) / 1e3 / n, (t2 - t1) / 1e3 / n,
                        (t3 - t2) / 1e3 / m);
            }
        }
    }
}
