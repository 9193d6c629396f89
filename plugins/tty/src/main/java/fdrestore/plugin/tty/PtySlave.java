package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_LARGEFILE;
import static fdrestore.api.sys.Linux.O_NOCTTY;
import static fdrestore.api.sys.Linux.S_IFCHR;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.io.IOException;
import java.util.List;
import java.util.OptionalInt;

/**
 * Restores one slave open file description of a pty: once its master is restored (or, for a pty the
 * image says was locked, open and still unlocked), it opens {@code /dev/pts/N} on its own with O_NOCTTY,
 * N being the index the master got (the image's, or another with {@code pty-any-index}), and checks that
 * the path is that pty's slave. Each slave file id is its own open, so two slave files of one pty stay
 * two open file descriptions. The controlling terminal comes later, as the session leader becomes a process.
 *
 * <p>A slave whose image flags lack O_LARGEFILE was got through TIOCGPTPEER on its master (open(2) always
 * adds O_LARGEFILE on 64-bit, the ioctl does not). Opening the path would add the bit, so such a slave is
 * opened the same way: its master's restorer asks TIOCGPTPEER with the image's flags and hands the fd over
 * ({@link #viaPeer}); this restorer takes it.
 */
final class PtySlave implements FileRestorer {
    private final TtyFile slave;
    private final Pty pty;
    private final PtyState state;

    PtySlave(TtyFile slave, Pty pty, PtyState state) {
        this.slave = slave;
        this.pty = pty;
        this.state = state;
    }

    @Override
    public List<Dependency> dependencies() {
        // A locked pty is unlocked only between its master's OPEN and RESTORED (the master re-locks it once
        // every slave is RESTORED), so its slaves wait for OPEN; otherwise for the fully restored master.
        Stage need = pty.locked() ? Stage.OPEN : Stage.RESTORED;
        return List.of(Dependency.beforeOpen(pty.master().id(), need, "a pty slave opens after its master"));
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        if (!state.known()) {
            // Only possible when the master was planned with another plan context: opening the image's
            // /dev/pts/N could then attach this slave to someone else's pty.
            throw new IllegalStateException(describe(slave.path()) + ": its master has not recorded the index it got"
                    + " (the master and the slave must be planned with the same PlanContext)");
        }
        int index = state.actual();
        String path = Pty.slavePath(slave.path(), pty.index(), index);
        int fd;
        if (viaPeer(slave)) {
            OptionalInt handed = ctx.takeHandOff();
            if (handed.isEmpty()) {
                ctx.waitingFor("the TIOCGPTPEER open of pty " + index + " from its master's restorer");
                return OpenResult.again();
            }
            fd = handed.getAsInt();
        } else {
            int flags = (slave.entry().getFlags() & Tty.OPEN_MASK) | O_NOCTTY | O_CLOEXEC;
            try {
                fd = t.open(path, flags, 0);
            } catch (SysException e) {
                throw new IOException(describe(path) + ": " + e.getMessage(), e);
            }
        }
        try {
            checkIsSlave(t, fd, path, index);
            if (slave.info().getExclusive()) {
                t.ioctl(fd, Tty.TIOCEXCL, 0L);
            }
        } catch (IOException | RuntimeException e) {
            IOException failure = new IOException(describe(path) + ": " + e.getMessage(), e);
            t.closeAll(new java.util.ArrayList<>(List.of(fd)), failure);
            throw failure;
        }
        return OpenResult.done(fd);
    }

    /**
     * True when slave file {@code s} is opened by TIOCGPTPEER on its master rather than by path: its image
     * flags lack O_LARGEFILE, which an open(2) of the path would add.
     */
    static boolean viaPeer(TtyFile s) {
        return (s.entry().getFlags() & O_LARGEFILE) == 0;
    }

    /**
     * The flags TIOCGPTPEER is given for slave file {@code s}: the image's, with O_NOCTTY (which the kernel
     * drops from the file). Never O_CLOEXEC: the ioctl keeps it in the file's flags, where fdinfo shows it
     * whatever FD_CLOEXEC says; the table gives the temporary fd FD_CLOEXEC instead.
     */
    static int peerFlags(TtyFile s) {
        return (s.entry().getFlags() & Tty.OPEN_MASK) | O_NOCTTY;
    }

    /** Throws unless {@code fd} is the slave of pty {@code index} (a char device 136+N/256 : N%256). */
    static void checkIsSlave(TaskTable t, int fd, String path, int index) throws IOException, SysException {
        TaskTable.Stat st = t.fstat(fd);
        if (st.type() != S_IFCHR || !Tty.isPtySlave(st.rdev()) || Tty.slaveIndex(st.rdev()) != index) {
            throw new IOException(path + " is not the slave of pty " + index + " (mode " + Tty.octal(st.mode())
                    + ", rdev " + Tty.dev(st.rdev()) + "): is /dev/pts the devpts instance of /dev/ptmx here?");
        }
    }

    private String describe(String path) {
        return "pty slave " + path + " (tty file " + slave.id() + ", pty index " + pty.index()
                + (path.equals(slave.path()) ? "" : ", image path " + slave.path()) + ", flags "
                + Tty.octal(slave.entry().getFlags()) + ")";
    }

    @Override
    public String toString() {
        return describe(Pty.slavePath(slave.path(), pty.index(), state.actual()));
    }
}
