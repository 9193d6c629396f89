package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.F_SETFL;
import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NOCTTY;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDWR;

import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Restores the master of one pty, CRIU's order ({@code pty_open_ptmx}), with the data replay made exact:
 * <ol>
 * <li>open the host's {@code /dev/ptmx} until it has the image's index ({@link PtmxAllocator}), or any
 * index with {@code pty-any-index}; record the index for the slaves ({@link PtyState});</li>
 * <li>unlock it (TIOCSPTLCK 0: the kernel creates it locked);</li>
 * <li>replay the queued data: what waited for the master's reader is written into a temporary slave fd
 * with output processing off, what waited for the slave's reader is written into the master with echo,
 * signals and input translation off (canonical mode kept, so lines stay lines);</li>
 * <li>termios (TCSETS), then the locked termios (TIOCSLCKTRMIOS, last, so that it restrains nothing
 * above), window size, packet mode (TIOCPKT), exclusive (TIOCEXCL); the image's O_NONBLOCK back;</li>
 * <li>Done, or, when the image says the pty was locked and it has slaves: Again with the fd (OPEN, so
 * the slaves may open it), and once every slave file is RESTORED, re-lock (TIOCSPTLCK 1) and Done.</li>
 * </ol>
 */
final class PtyMaster implements FileRestorer {
    static final String ANY_INDEX_OPTION = "pty-any-index";

    private final Pty pty;
    private final PtyState state;
    private final IntFunction<String> holders;
    private final int maxTries;
    private boolean waitingToLock;

    PtyMaster(Pty pty, PtyState state) {
        this(pty, state, IndexHolders::describe, PtmxAllocator.MAX_TRIES);
    }

    PtyMaster(Pty pty, PtyState state, IntFunction<String> holders, int maxTries) {
        this.pty = pty;
        this.state = state;
        this.holders = holders;
        this.maxTries = maxTries;
    }

    long fileId() {
        return pty.master().id();
    }

    /** Re-locking waits for every slave: the slaves can open only while the pty is unlocked. */
    boolean relocksAfterSlaves() {
        return pty.locked() && !pty.slaves().isEmpty();
    }

    @Override
    public List<Dependency> dependencies() {
        List<Dependency> out = new ArrayList<>();
        if (relocksAfterSlaves()) {
            for (long s : pty.slaveIds()) {
                out.add(Dependency.beforeDone(s, Stage.RESTORED, "a locked pty is re-locked after its slaves opened"));
            }
        }
        return out;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        if (waitingToLock) {
            return relock(ctx);
        }
        TaskTable t = ctx.table();
        TtyInfoEntry info = pty.master().info();
        int flags = pty.master().entry().getFlags();
        boolean anyIndex = Boolean.parseBoolean(ctx.option(ANY_INDEX_OPTION));
        int openFlags = (flags & Tty.OPEN_MASK) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
        List<Integer> owned = new ArrayList<>();
        try {
            PtmxAllocator.Master m = PtmxAllocator.open(t, pty.master().path(), openFlags, pty.index(), anyIndex,
                    maxTries, holders);
            int fd = m.fd();
            owned.add(fd);
            state.actual(m.index());
            Tty.setInt(t, fd, Tty.TIOCSPTLCK, 0);
            Termios termios = Termios.of(info.getTermios());
            if (pty.toMaster() != null || pty.toSlave() != null) {
                replay(t, fd, termios, owned);
            }
            t.ioctl(fd, Tty.TCSETS, termios.encode());
            if (info.hasTermiosLocked()) {
                t.ioctl(fd, Tty.TIOCSLCKTRMIOS, Termios.of(info.getTermiosLocked()).encode());
            }
            if (info.hasWinsize()) {
                t.ioctl(fd, Tty.TIOCSWINSZ, Termios.winsize(info.getWinsize()));
            }
            if (info.getPacketMode()) {
                Tty.setInt(t, fd, Tty.TIOCPKT, 1);
            }
            if (info.getExclusive()) {
                t.ioctl(fd, Tty.TIOCEXCL, 0L);
            }
            if ((flags & O_NONBLOCK) == 0) {
                t.fcntl(fd, F_SETFL, flags & Tty.SETFL_MASK);
            }
            openPeers(ctx, t, fd);
            if (relocksAfterSlaves()) {
                owned.clear();
                waitingToLock = true;
                return OpenResult.again(fd);
            }
            if (pty.locked()) {
                Tty.setInt(t, fd, Tty.TIOCSPTLCK, 1); // a failure here still closes the master (owned)
            }
            owned.clear();
            return OpenResult.done(fd);
        } catch (IOException e) { // SysException too
            IOException failure = new IOException(describe() + ": " + e.getMessage(), e);
            t.closeAll(owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            t.closeAll(owned, e);
            throw e;
        }
    }

    /**
     * Writes the queued data back through a temporary slave fd, each direction so that it lands where it
     * waited. Data for the master's reader is written into the slave with output processing off: the slave's
     * write path processes it synchronously, and the master's own line discipline is raw. Data for the slaves'
     * reader is inserted into the slave's input with TIOCSTI, byte by byte: it is processed synchronously
     * with the termios set at that moment (echo, signals and input translation off), whereas a write into
     * the master is processed later by a kernel worker, possibly after the final termios is back (echo on).
     */
    private void replay(TaskTable t, int master, Termios termios, List<Integer> owned) throws IOException, SysException {
        int actual = state.actual();
        String slavePath = Pty.slavePath(pty.slaves().isEmpty() ? "/dev/pts/" + pty.index() : pty.slaves().get(0).path(),
                pty.index(), actual);
        int slave = t.open(slavePath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
        owned.add(slave);
        PtySlave.checkIsSlave(t, slave, slavePath, actual);
        if (pty.toMaster() != null) {
            t.ioctl(master, Tty.TCSETS, termios.forMasterInputReplay().encode());
            writeAll(t, slave, pty.toMaster(), "the data queued for the master's reader (written into " + slavePath + ")");
        }
        if (pty.toSlave() != null) {
            t.ioctl(master, Tty.TCSETS, termios.forSlaveInputReplay().encode());
            byte[] one = new byte[1];
            for (byte b : pty.toSlave()) {
                one[0] = b;
                try {
                    t.ioctl(slave, Tty.TIOCSTI, one);
                } catch (SysException e) {
                    throw new IOException("the data queued for the slaves' reader (" + pty.toSlave().length
                            + " bytes, inserted with TIOCSTI into " + slavePath + "): " + e.getMessage(), e);
                }
            }
        }
        t.close(slave);
        owned.remove(Integer.valueOf(slave));
    }

    /**
     * Opens every slave file of this pty that was got through TIOCGPTPEER the same way, with its image flags
     * (while the pty is unlocked), and hands each to that slave file's restorer ({@link PtySlave#viaPeer}).
     * The table moves the new fd above its temp floor, like any fd it creates.
     */
    private void openPeers(OpenContext ctx, TaskTable t, int master) throws IOException, SysException {
        for (TtyFile s : pty.slaves()) {
            if (!PtySlave.viaPeer(s)) {
                continue;
            }
            int fd;
            try {
                fd = t.ioctl(master, Tty.TIOCGPTPEER, PtySlave.peerFlags(s));
            } catch (SysException e) {
                throw new IOException("opening slave file " + s.id() + " with TIOCGPTPEER (flags "
                        + Tty.octal(PtySlave.peerFlags(s)) + "): " + e.getMessage(), e);
            }
            ctx.handOff(s.id(), fd);
        }
    }

    private static void writeAll(TaskTable t, int fd, byte[] data, String what) throws IOException, SysException {
        int off = 0;
        while (off < data.length) {
            int n = t.write(fd, data, off, data.length - off);
            if (n <= 0) {
                throw new IOException(what + ": only " + off + " of " + data.length + " bytes fit in the terminal's queue");
            }
            off += n;
        }
    }

    private OpenResult relock(OpenContext ctx) throws IOException {
        for (long s : pty.slaveIds()) {
            if (ctx.stage(s) != Stage.RESTORED) {
                ctx.waitingFor("tty slave file " + s + " to open before pty " + state.actual() + " is locked again");
                return OpenResult.again();
            }
        }
        int fd = ctx.fd().orElseThrow(() -> new IllegalStateException(describe() + ": no fd after Again"));
        try {
            Tty.setInt(ctx.table(), fd, Tty.TIOCSPTLCK, 1);
        } catch (SysException e) {
            throw new IOException(describe() + ": locking it again: " + e.getMessage(), e);
        }
        waitingToLock = false;
        return OpenResult.done();
    }

    private String describe() {
        return "pty master " + pty.master().path() + " (tty file " + pty.master().id() + ", pty index " + pty.index()
                + (state.known() && state.actual() != pty.index() ? ", restored as " + state.actual() : "") + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
