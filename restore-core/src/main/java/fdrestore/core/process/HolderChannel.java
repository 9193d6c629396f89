package fdrestore.core.process;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The pipes between fdrestore and one holder (in builder mode, or waiting to answer "R" on its ready pipe),
 * created in the task's own table, and the protocol spoken on them (see src/main/c/fdrestore-holder.c).
 */
record HolderChannel(int cmdRead, int cmdWrite, int replyRead, int replyWrite, StringBuilder pending) {
    /** How long a holder may take to answer, or to take a command, before it counts as stuck. */
    static final long REPLY_TIMEOUT_NS = 20_000_000_000L;

    /** Both ends fdrestore keeps are non-blocking: a holder that stops reading never blocks a thread. */
    static HolderChannel open(TaskTable t) throws SysException {
        int[] cmd = t.pipe(0);
        int[] reply = t.pipe(0);
        t.fcntl(reply[0], Linux.F_SETFL, Linux.O_NONBLOCK);
        t.fcntl(cmd[1], Linux.F_SETFL, Linux.O_NONBLOCK);
        return new HolderChannel(cmd[0], cmd[1], reply[0], reply[1], new StringBuilder());
    }

    /** The holder's two ends: kept in its table (and taken by a forked child). */
    int[] holderEnds() {
        return new int[] {cmdRead, replyWrite};
    }

    /** One command: u32 length (native order), then the fields, each ended by a NUL. */
    static byte[] encode(List<String> fields) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String f : fields) {
            b.writeBytes(f.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        byte[] body = b.toByteArray();
        byte[] msg = new byte[4 + body.length];
        ByteBuffer.wrap(msg).order(ByteOrder.nativeOrder()).putInt(body.length).put(body);
        return msg;
    }

    /**
     * Writes one command whole; false when the holder {@code holderPid} died, or took nothing for
     * {@link #REPLY_TIMEOUT_NS}, before all of it was in the pipe.
     */
    boolean send(TaskTable t, List<String> fields, int holderPid) throws SysException {
        byte[] msg = encode(fields);
        int off = 0;
        long heard = System.nanoTime();
        long nextCheck = heard + 5_000_000L;
        while (off < msg.length) {
            int n = t.write(cmdWrite, msg, off, msg.length - off);
            long now = System.nanoTime();
            if (n > 0) {
                off += n;
                heard = now;
            } else if (now - heard > REPLY_TIMEOUT_NS) {
                return false;
            } else {
                LockSupport.parkNanos(100_000);
                if (now > nextCheck) {
                    if (!Processes.running(holderPid)) {
                        return false;
                    }
                    nextCheck = now + 5_000_000L;
                }
            }
        }
        return true;
    }

    /** Reads what has come on the reply pipe, without waiting; returns the byte count (0 if none yet). */
    int fill(TaskTable t, byte[] buf) throws SysException {
        int n = t.read(replyRead, buf, 0, buf.length);
        if (n <= 0) {
            return 0; // nothing yet (never end of file: the table keeps a copy of the write end)
        }
        pending.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
        return n;
    }

    /** The next whole line read so far, or null. */
    String take() {
        int nl = pending.indexOf("\n");
        if (nl < 0) {
            return null;
        }
        String l = pending.substring(0, nl);
        pending.delete(0, nl + 1);
        return l;
    }

    /**
     * The next reply line, waiting up to {@code timeoutNs}; null on time-out, or as soon as the process
     * {@code holderPid} that should answer has died (the pipe never shows EOF: its table keeps a copy of
     * the write end).
     */
    String line(TaskTable t, long timeoutNs, int holderPid) throws SysException {
        long deadline = System.nanoTime() + timeoutNs;
        long nextCheck = System.nanoTime() + 5_000_000L;
        boolean dead = false;
        byte[] buf = new byte[256];
        while (true) {
            String l = take();
            if (l != null) {
                return l;
            }
            int n = t.read(replyRead, buf, 0, buf.length);
            if (n > 0) {
                pending.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
            } else if (n == 0 || dead || System.nanoTime() > deadline) {
                return null;
            } else {
                LockSupport.parkNanos(100_000);
                if (System.nanoTime() > nextCheck) {
                    // one more read after the death is seen: it may have answered just before
                    dead = !Processes.running(holderPid);
                    nextCheck = System.nanoTime() + 5_000_000L;
                }
            }
        }
    }
}

