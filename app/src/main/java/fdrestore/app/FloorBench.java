package fdrestore.app;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import fdrestore.transport.ScmTransport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The Java side of {@code fdrestore bench --floor}: the work of {@code src/main/c/fdrestore-floor.c}, done
 * through fdrestore's real pieces, with the calls the engine's task loop makes (TaskLoop): two
 * {@link ExecutorTaskTable}s of a {@link TaskRuntime} (two executors with private fd tables) and an
 * {@link ScmTransport} with one endpoint in each.
 *
 * <p>A round moves {@code fds} fds from the sender's table to the receiver's, in passes of at most
 * {@link #window} fds (the targets must fit under RLIMIT_NOFILE; see {@link #window(int)}). In a pass the
 * sender thread, per message of up to 253 fds: opens them in one {@link Batch} (one hand-off), sends them
 * with their tags ({@link Transport#send}, the target number as the tag; a full queue answers false and it
 * retries once the receiver took a message), and closes its copies in one batch. The receiver (the calling
 * thread), woken per message sent, takes it ({@link Transport#receive}) and places every fd at its target in
 * one {@link TaskTable#placeAll} with {@link TaskTable#PLACE_CLOEXEC}, as TaskLoop.receive does. Between
 * passes, with the clock stopped, the receiver's targets are closed (one batch).
 *
 * <p>Measured, as in the C program: the round (the sender's first open to the receiver's last placement,
 * summed over the passes) and the transport alone: the time inside {@link Transport#send} (sender) plus
 * inside {@link Transport#receive} (receiver), summed over both threads.
 */
final class FloorBench implements AutoCloseable {
    /** The target of fd i of a pass is TARGET_BASE + i (as in the C program). */
    static final int TARGET_BASE = 1000;
    /** Fds kept free above the targets (endpoints, temporaries), as the C program's SLACK. */
    static final int SLACK = 1024;
    static final int SENDER_PID = 1;
    static final int RECEIVER_PID = 2;
    private static final int MAX_FDS = Transport.MAX_FDS;

    /** One measured round. */
    record Round(int fds, long roundNs, long sendNs, long receiveNs, long eagain) {
        double nsPerFd() {
            return (double) roundNs / fds;
        }

        double transportNsPerFd() {
            return (double) (sendNs + receiveNs) / fds;
        }
    }

    /** Medians (and extremes) over the measured rounds. */
    record Result(int fds, int window, int passes, List<Round> rounds) {
        double median() {
            return BenchCommand.median(values(false));
        }

        double min() {
            return BenchCommand.min(values(false));
        }

        double max() {
            return BenchCommand.max(values(false));
        }

        double transportMedian() {
            return BenchCommand.median(values(true));
        }

        double transportMin() {
            return BenchCommand.min(values(true));
        }

        double transportMax() {
            return BenchCommand.max(values(true));
        }

        long eagain() {
            return rounds.stream().mapToLong(Round::eagain).sum();
        }

        private List<Double> values(boolean transport) {
            List<Double> v = new ArrayList<>();
            for (Round r : rounds) {
                v.add(transport ? r.transportNsPerFd() : r.nsPerFd());
            }
            return v;
        }
    }

    final int fds;
    final int window;
    private final int tempFloor;
    private TaskRuntime runtime;
    private ExecutorTaskTable sender;
    private ExecutorTaskTable receiver;
    private ScmTransport transport;

    // Per-pass hand-shake between the sender thread and the receiver.
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger taken = new AtomicInteger();
    private volatile Thread receiverThread;
    private volatile Thread senderThread;
    private volatile Throwable senderFailure;
    private volatile boolean abort;
    private volatile long passStart;
    private long passSendNs;
    private long passEagain;

    FloorBench(int fds, int window) {
        if (fds < 1 || window < 1 || window > fds) {
            throw new IllegalArgumentException("fds " + fds + ", window " + window);
        }
        this.fds = fds;
        this.window = window;
        this.tempFloor = TARGET_BASE + window + 16;
    }

    /**
     * The most fds a pass can place: all of them when 1000 + fds + 1024 fit under RLIMIT_NOFILE's hard limit,
     * else as many whole messages as fit (the C program's default, given to it explicitly by the bench).
     */
    static int window(int fds) throws SysException {
        Rlimit l = Sys.getrlimit(Linux.RLIMIT_NOFILE);
        long hard = l.hard() == Linux.RLIM_INFINITY || l.hard() > (1L << 30) ? 1L << 30 : l.hard();
        long fit = (hard - TARGET_BASE - SLACK) / MAX_FDS * MAX_FDS;
        if (fit < MAX_FDS) {
            throw new SysException("RLIMIT_NOFILE " + l + " leaves no room for fd targets above " + TARGET_BASE,
                    fdrestore.api.sys.Errno.EMFILE);
        }
        return (int) Math.min(fds, fit);
    }

    int passes() {
        return (fds + window - 1) / window;
    }

    /** Starts the two tables and the transport's endpoints (not measured). */
    void open() throws SysException {
        runtime = new TaskRuntime();
        boolean ok = false;
        try {
            sender = runtime.start(SENDER_PID, tempFloor);
            receiver = runtime.start(RECEIVER_PID, tempFloor);
            transport = ScmTransport.create();
            transport.open(sender);
            transport.open(receiver);
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    ExecutorTaskTable receiver() {
        return receiver;
    }

    ExecutorTaskTable sender() {
        return sender;
    }

    /** One round, its targets closed at the end of each pass. */
    Round round() throws Exception {
        return round(false);
    }

    /**
     * One round. With {@code keepTargets} (one pass only: fds == window) the targets
     * TARGET_BASE..TARGET_BASE+fds-1 stay open in the receiver's table; close them with {@link #closeTargets}.
     */
    Round round(boolean keepTargets) throws Exception {
        if (keepTargets && passes() != 1) {
            throw new IllegalStateException("keepTargets needs a single pass: " + fds + " fds, window " + window);
        }
        long roundNs = 0;
        long sendNs = 0;
        long receiveNs = 0;
        long eagain = 0;
        for (int lo = 0; lo < fds; lo += window) {
            int want = Math.min(window, fds - lo);
            long[] r = pass(want);
            roundNs += r[0];
            sendNs += r[1];
            receiveNs += r[2];
            eagain += r[3];
            if (!keepTargets) {
                closeTargets(want);
            }
        }
        return new Round(fds, roundNs, sendNs, receiveNs, eagain);
    }

    /** Closes the receiver's targets TARGET_BASE..TARGET_BASE+count-1 in one hand-off. */
    void closeTargets(int count) throws SysException {
        Batch b = receiver.batch();
        for (int t = TARGET_BASE; t < TARGET_BASE + count; t++) {
            b.close(b.fd(t));
        }
        b.run();
    }

    /** One pass of {@code want} fds: {round ns, send ns, receive ns, EAGAIN count}. */
    private long[] pass(int want) throws Exception {
        sent.set(0);
        taken.set(0);
        senderFailure = null;
        abort = false;
        passSendNs = 0;
        passEagain = 0;
        receiverThread = Thread.currentThread();
        Thread s = new Thread(() -> {
            try {
                send(want);
            } catch (Throwable t) {
                senderFailure = t;
            } finally {
                LockSupport.unpark(receiverThread);
            }
        }, "fdrestore-floor-sender");
        s.setDaemon(true);
        senderThread = s;
        s.start();
        long receiveNs = 0;
        long end;
        int[] rxFds = new int[MAX_FDS];
        long[] rxTags = new long[MAX_FDS];
        int[] src = new int[MAX_FDS];
        int[] dst = new int[MAX_FDS];
        int[] flags = new int[MAX_FDS];
        Arrays.fill(flags, TaskTable.PLACE_CLOEXEC);
        try {
            int got = 0;
            int messages = 0;
            while (got < want) {
                awaitSent(messages, s);
                long t0 = System.nanoTime();
                int n = transport.receive(receiver, rxFds, rxTags);
                receiveNs += System.nanoTime() - t0;
                if (n < 0) {
                    continue;
                }
                messages++;
                taken.incrementAndGet();
                LockSupport.unpark(s);
                for (int k = 0; k < n; k++) {
                    src[k] = rxFds[k];
                    dst[k] = (int) rxTags[k];
                }
                // Every fd of the message to its target in one hand-off, as TaskLoop.receive.
                receiver.placeAll(src, dst, flags, n);
                got += n;
            }
            end = System.nanoTime();
        } catch (Exception | Error e) {
            abort = true;
            LockSupport.unpark(s);
            s.join();
            throw e;
        }
        s.join();
        if (senderFailure != null) {
            throw new IllegalStateException("the floor bench's sender failed: " + senderFailure, senderFailure);
        }
        return new long[] {end - passStart, passSendNs, receiveNs, passEagain};
    }

    /** Waits (spin, then park) until the sender has sent more than {@code messages} messages. */
    private void awaitSent(int messages, Thread s) throws Exception {
        long spinUntil = System.nanoTime() + 50_000;
        while (sent.get() <= messages) {
            if (senderFailure != null || !s.isAlive() && sent.get() <= messages) {
                Throwable f = senderFailure;
                throw new IllegalStateException("the floor bench's sender stopped: " + f, f);
            }
            if (System.nanoTime() - spinUntil < 0) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(this, 1_000_000);
            }
        }
    }

    /** The sender thread of one pass. */
    private void send(int want) throws SysException {
        int[] fds = new int[MAX_FDS];
        long[] tags = new long[MAX_FDS];
        Batch.Ref[] refs = new Batch.Ref[MAX_FDS];
        long sendNs = 0;
        long eagain = 0;
        passStart = System.nanoTime();
        for (int i = 0; i < want; i += MAX_FDS) {
            int n = Math.min(MAX_FDS, want - i);
            Batch open = sender.batch();
            for (int k = 0; k < n; k++) {
                refs[k] = open.open("/dev/null", Linux.O_RDWR, 0);
            }
            open.run();
            for (int k = 0; k < n; k++) {
                fds[k] = (int) refs[k].get();
                tags[k] = TARGET_BASE + i + k;
            }
            for (;;) {
                int before = taken.get();
                long t0 = System.nanoTime();
                boolean ok = transport.send(sender, RECEIVER_PID, fds, tags, n);
                sendNs += System.nanoTime() - t0;
                if (ok) {
                    break;
                }
                eagain++;
                // The receiver's queue is full: wait until it took a message (TaskLoop's queueWaiters).
                long spinUntil = System.nanoTime() + 50_000;
                while (taken.get() == before && !abort) {
                    if (System.nanoTime() - spinUntil < 0) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.parkNanos(this, 1_000_000);
                    }
                }
                if (abort) {
                    closeAll(fds, n);
                    return;
                }
            }
            sent.incrementAndGet();
            LockSupport.unpark(receiverThread);
            closeAll(fds, n);
        }
        passSendNs = sendNs;
        passEagain = eagain;
    }

    private void closeAll(int[] fds, int n) throws SysException {
        Batch close = sender.batch();
        for (int k = 0; k < n; k++) {
            close.close(close.fd(fds[k]));
        }
        close.run();
    }

    /** Closes the endpoints and ends both executors (which closes everything left in their tables). */
    @Override
    public void close() {
        if (transport != null) {
            for (ExecutorTaskTable t : new ExecutorTaskTable[] {receiver, sender}) {
                if (t != null && !t.isClosed()) {
                    try {
                        transport.close(t);
                    } catch (SysException | RuntimeException ignored) {
                        // the table's close below closes the endpoint anyway
                    }
                }
            }
            transport.close();
        }
        if (runtime != null) {
            runtime.close();
        }
    }

    /** {@code warmup} unmeasured rounds, then {@code rounds} measured ones, in this JVM. */
    static Result run(int fds, int rounds, int warmup, int window) throws Exception {
        try (FloorBench b = new FloorBench(fds, window)) {
            b.open();
            for (int i = 0; i < warmup; i++) {
                b.round();
            }
            List<Round> measured = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                measured.add(b.round());
            }
            return new Result(fds, window, b.passes(), measured);
        }
    }
}
