package fdrestore.testkit;

import fdrestore.api.spi.Transport;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pretend kernel for unit tests: open file descriptions ({@link FakeFile}), the fd tables that refer to
 * them ({@link FakeTaskTable}) and datagram queues between tables. No syscall is made. Thread-safe: the
 * engine drives several tables at once.
 */
public final class FakeKernel {
    private final AtomicLong nextFile = new AtomicLong(1);
    private final Map<Integer, FakeTaskTable> tables = new HashMap<>();
    private final Map<Integer, ArrayDeque<Datagram>> queues = new HashMap<>();
    private int queueLimit = 10;

    /** One open file description. Identity is the description: two fds share it when they hold the same object. */
    public static final class FakeFile {
        private final long serial;
        private final String what;
        private final int flags;
        private final List<String> log = new ArrayList<>();

        FakeFile(long serial, String what, int flags) {
            this.serial = serial;
            this.what = what;
            this.flags = flags;
        }

        /** What was opened: a path, "pipe:[n] r", "socket:[n]" ... */
        public String what() {
            return what;
        }

        /** The open flags. */
        public int flags() {
            return flags;
        }

        /** Calls made on this description (lseek, ioctl ...), in order. */
        public synchronized List<String> log() {
            return List.copyOf(log);
        }

        synchronized void record(String call) {
            log.add(call);
        }

        @Override
        public String toString() {
            return "file#" + serial + "(" + what + ")";
        }
    }

    record Datagram(int fromPid, FakeFile[] files, long[] tags) {
    }

    FakeFile newFile(String what, int flags) {
        return new FakeFile(nextFile.getAndIncrement(), what, flags);
    }

    /** A new fd table for task {@code pid}, with temporaries at or above {@code tempFloor}. */
    public synchronized FakeTaskTable table(int pid, int tempFloor) {
        FakeTaskTable t = new FakeTaskTable(this, pid, tempFloor);
        tables.put(pid, t);
        return t;
    }

    /** The table of task {@code pid}. */
    public synchronized FakeTaskTable table(int pid) {
        FakeTaskTable t = tables.get(pid);
        if (t == null) {
            throw new IllegalArgumentException("no fake table for task " + pid);
        }
        return t;
    }

    /** Datagrams a queue holds before a send answers "full" (net.unix.max_dgram_qlen, 10 by default). */
    public synchronized void queueLimit(int n) {
        queueLimit = n;
    }

    /** A transport between this kernel's tables, with the semantics of the real one. */
    public Transport transport() {
        return new FakeTransport(this);
    }

    synchronized void bindQueue(int pid) {
        queues.putIfAbsent(pid, new ArrayDeque<>());
    }

    synchronized void unbindQueue(int pid) {
        queues.remove(pid);
    }

    synchronized boolean enqueue(int toPid, Datagram d) {
        ArrayDeque<Datagram> q = queues.get(toPid);
        if (q == null) {
            throw new IllegalStateException("task " + toPid + " has no transport endpoint (ECONNREFUSED)");
        }
        if (q.size() >= queueLimit) {
            return false;
        }
        if (d.files.length > Transport.MAX_FDS) {
            throw new IllegalArgumentException("more than " + Transport.MAX_FDS + " fds in one message");
        }
        q.add(d);
        return true;
    }

    synchronized Datagram dequeue(int pid) {
        ArrayDeque<Datagram> q = queues.get(pid);
        return q == null ? null : q.poll();
    }

    /** Datagrams queued for task {@code pid} and not received yet. */
    public synchronized int queued(int pid) {
        ArrayDeque<Datagram> q = queues.get(pid);
        return q == null ? 0 : q.size();
    }
}
