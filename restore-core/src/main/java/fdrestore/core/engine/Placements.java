package fdrestore.core.engine;

import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.List;

/**
 * The masters one pass of a {@link TaskLoop} opened, and their placement: each new fd goes to its number,
 * with a copy at each same-task slave's number, in one hand-off at the end of the pass
 * ({@link #placeOpened()}); an in-flight slot's fd is held, never placed, until the task is done.
 */
final class Placements {
    private final TaskLoop loop;
    /** Placements of the masters opened in the current pass (see placeLater / placeOpened). */
    private int[] opSrc = new int[64];
    private int[] opDst = new int[64];
    private int[] opFlags = new int[64];
    private Fle[] opFle = new Fle[64];
    private int opCount;
    /** The files whose masters were queued in this pass, and whether their plugin answered Done. */
    private final List<Opened> opened = new ArrayList<>();
    /** In-flight slots whose master opened them: their held fds are closed when the task is done. */
    private final List<Fle> held = new ArrayList<>();

    Placements(TaskLoop loop) {
        this.loop = loop;
    }

    private record Opened(FileDesc desc, boolean done) {
    }

    /**
     * Queues the master's new fd for its number, and a copy at each slave's number in this task. Every
     * master opened in a pass is placed by {@link #placeOpened()} in one hand-off at the end of the masters'
     * loop; until then the new fd is a temporary of this table (freed with it on an abort) and the file
     * stays below OPEN, so nothing (a dependency, a send) can use its number before it is there.
     */
    void placeLater(FileDesc d, int newFd, boolean done) {
        Fle m = d.master;
        if (m.info.isInFlight()) {
            // Never placed: the fd stays a temporary of this table until the task is done.
            m.heldFd = newFd;
            held.add(m);
            d.opened = true;
            opened.add(new Opened(d, done));
            return;
        }
        int n = 0;
        for (Fle s : d.fles) {
            if (s != m && s.task == loop) {
                n++;
            }
        }
        ensureOpened(opCount + n + 1);
        opSrc[opCount] = newFd;
        opDst[opCount] = m.fd();
        opFlags[opCount] = m.info.cloexec() ? TaskTable.PLACE_CLOEXEC : 0;
        opFle[opCount++] = m;
        for (Fle s : d.fles) {
            if (s != m && s.task == loop) {
                opSrc[opCount] = m.fd();
                opDst[opCount] = s.fd();
                opFlags[opCount] = TaskTable.KEEP_SOURCE | (s.info.cloexec() ? TaskTable.PLACE_CLOEXEC : 0);
                opFle[opCount++] = s;
            }
        }
        d.opened = true;
        opened.add(new Opened(d, done));
    }

    /**
     * Places every master queued by {@link #placeLater} in this pass and its same-task slaves' copies, in
     * one hand-off; then each file is OPEN (its master RESTORED if its plugin answered Done), its slaves
     * here RESTORED, and its slaves in other tasks get it over the transport.
     */
    void placeOpened() throws SysException {
        if (opCount == 0 && opened.isEmpty()) {
            return;
        }
        int n = opCount;
        opCount = 0;
        if (n > 0) {
            loop.table.placeAll(opSrc, opDst, opFlags, n);
        }
        for (int i = 0; i < n; i++) {
            Fle f = opFle[i];
            opFle[i] = null;
            if (f.isMaster()) {
                f.advance(Stage.OPEN);
            } else {
                loop.restored(f);
            }
        }
        for (Opened o : opened) {
            FileDesc d = o.desc();
            Fle m = d.master;
            if (m.info.isInFlight()) {
                m.advance(Stage.OPEN);
            }
            for (Fle s : d.fles) {
                if (s != m && s.task != loop) {
                    loop.post(new TaskLoop.Outgoing(s.task, m.fd(), Tags.fle(s.index), false));
                }
            }
            if (o.done()) {
                loop.restored(m);
            } else {
                loop.engine.stageChanged(d, loop);
            }
        }
        opened.clear();
    }

    /** Closes the fds of this task's in-flight slots: every file that needed them is restored. */
    void closeHeld() throws SysException {
        for (Fle f : held) {
            int fd = f.heldFd;
            f.heldFd = -1;
            loop.table.close(fd);
        }
        held.clear();
    }

    private void ensureOpened(int n) {
        if (opSrc.length < n) {
            int c = Math.max(n, opSrc.length * 2);
            opSrc = java.util.Arrays.copyOf(opSrc, c);
            opDst = java.util.Arrays.copyOf(opDst, c);
            opFlags = java.util.Arrays.copyOf(opFlags, c);
            opFle = java.util.Arrays.copyOf(opFle, c);
        }
    }

    /** Adds the new fds waiting for {@link #placeOpened()} (not the slaves' copies of them) to {@code out}. */
    void unplaced(List<Integer> out) {
        for (int i = 0; i < opCount; i++) {
            if ((opFlags[i] & TaskTable.KEEP_SOURCE) == 0) {
                out.add(opSrc[i]);
            }
        }
    }

    /** Adds the held fds of the in-flight slots to {@code out}. */
    void held(List<Integer> out) {
        for (Fle f : held) {
            out.add(f.heldFd);
        }
    }

    /** On a failure, once the {@link TaskLoop#unplacedFds} are closed: forgets them. */
    void drop() {
        java.util.Arrays.fill(opFle, 0, opCount, null);
        opCount = 0;
        opened.clear();
        for (Fle f : held) {
            f.heldFd = -1;
        }
        held.clear();
    }
}
