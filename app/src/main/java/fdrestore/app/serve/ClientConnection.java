package fdrestore.app.serve;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.app.Invocation;
import fdrestore.core.runtime.Threads;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server's side of one client's connection, below the request ({@link ServeRequest}): reading a
 * message whole with the fds it carries, sending a reply, and, while a command runs, turning what the
 * client sends (a forwarded signal, or its end) into the command's {@link Invocation#signalled}.
 */
final class ClientConnection {
    private static final int SIGHUP = 1;

    private ClientConnection() {
    }

    /**
     * Runs {@code command} on its own thread while this one reads the client's signals (or its end) into
     * {@code inv}; returns when the command is done.
     */
    static void runWatched(int conn, Invocation inv, Runnable command) {
        AtomicBoolean done = new AtomicBoolean();
        Thread worker = new Thread(() -> {
            try {
                command.run();
            } finally {
                done.set(true);
                try {
                    Sys.shutdown(conn, 0); // wakes the watcher
                } catch (SysException ignored) {
                    // the client is gone already
                }
            }
        }, "fdrestore-served");
        worker.start();
        watch(conn, done, inv);
        Threads.joinUninterruptibly(worker);
    }

    /** Reads the client's signals (or its end) until the command is done. */
    static void watch(int conn, AtomicBoolean done, Invocation inv) {
        byte[] msg = new byte[ServeRequest.MESSAGE];
        int have = 0;
        while (!done.get()) {
            Sys.Received r;
            try {
                r = Sys.receive(conn, msg.length - have);
            } catch (SysException e) {
                inv.signalled(SIGHUP);
                return;
            }
            for (int fd : r.fds()) {
                Sys.closeQuietly(fd); // fds have no business here
            }
            if (r.data().length == 0) {
                if (!done.get()) {
                    inv.signalled(SIGHUP); // the client went away: as a terminal's hang-up would
                }
                return;
            }
            System.arraycopy(r.data(), 0, msg, have, r.data().length);
            have += r.data().length;
            if (have == msg.length) {
                have = 0;
                if (msg[0] == ServeRequest.SIGNAL) {
                    inv.signalled((msg[1] & 0xff) | (msg[2] & 0xff) << 8 | (msg[3] & 0xff) << 16 | (msg[4] & 0xff) << 24);
                }
            }
        }
    }

    /** Fills {@code buf} from the socket; the fds the messages carry are added to {@code fds} at once. */
    static void readFully(int conn, byte[] buf, List<Integer> fds) throws SysException, ServeRequest.BadRequest {
        int have = 0;
        while (have < buf.length) {
            Sys.Received r = Sys.receive(conn, buf.length - have);
            for (int fd : r.fds()) {
                fds.add(fd);
            }
            if (r.data().length == 0) {
                throw new ServeRequest.BadRequest("the client left after " + have + " of " + buf.length + " bytes");
            }
            System.arraycopy(r.data(), 0, buf, have, r.data().length);
            have += r.data().length;
        }
    }

    static void send(int conn, byte type, int value) {
        byte[] m = ServeRequest.reply(type, value);
        try {
            Sys.sendmsg(conn, null, m, m.length, new int[0], 0, Linux.MSG_NOSIGNAL);
        } catch (SysException gone) {
            // the client is gone: nobody to tell
        }
    }

    static byte[] timeval(long seconds) {
        return java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(seconds).putLong(0).array();
    }
}
