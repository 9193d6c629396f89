package fdrestore.api.spi;

import fdrestore.api.sys.SysException;

/**
 * Carries fds between task tables. Each message holds up to {@link #MAX_FDS} fds and, for each, an opaque
 * tag chosen by the engine (the receiver's fd slot). Nothing here blocks: a full queue answers false and
 * the engine retries after the receiver drained it.
 */
public interface Transport extends AutoCloseable {
    /** SCM_MAX_FD: the most fds one message can carry. */
    int MAX_FDS = 253;

    /**
     * Creates task {@code table.pid()}'s endpoint in its table. Called for every task before any send.
     * Throws {@link NameTaken} when the endpoint's name is already bound by someone else.
     */
    void open(TaskTable table) throws SysException;

    /**
     * Sends {@code fds[0..count)} with their tags from {@code from}'s table to task {@code toPid}. The fds
     * stay open in the sender's table. False when the receiver's queue is full.
     */
    boolean send(TaskTable from, int toPid, int[] fds, long[] tags, int count) throws SysException;

    /**
     * Receives one message for {@code table}'s task: its fds (temporary fds of that table, now the
     * caller's) and tags go into the arrays; returns their count, or -1 when nothing is queued. Messages
     * that do not come from this restore are dropped, their fds closed, and counted.
     */
    int receive(TaskTable table, int[] fds, long[] tags) throws SysException;

    /** Closes task {@code table.pid()}'s endpoint (queued fds are closed with it). */
    void close(TaskTable table) throws SysException;

    /** Messages refused so far (foreign sender, bad format), for the report. */
    long dropped();

    /** Releases what the transport holds outside the task tables. */
    @Override
    void close();

    /**
     * {@link #open} failed because the endpoint's name is already taken (a squatter, or a run id
     * collision): the restore starts again with a transport of a new run id.
     */
    class NameTaken extends SysException {
        private static final long serialVersionUID = 1L;

        public NameTaken(String call, int errno) {
            super(call, errno);
        }
    }
}
