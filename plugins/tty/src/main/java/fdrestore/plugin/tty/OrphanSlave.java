package fdrestore.plugin.tty;

import static fdrestore.api.sys.Linux.O_CLOEXEC;
import static fdrestore.api.sys.Linux.O_NOCTTY;
import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.S_IFCHR;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.tty.TtyImages.TtyFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A pty slave file whose master is not in the images. Two cases, told apart by its tty-info:
 * <ul>
 * <li><b>Hung up</b> (no termios: the master was closed before the dump, the terminal answers EIO): as
 * criu does, a master is opened on the image's index (or any with {@code pty-any-index}), unlocked, the
 * slave opened from it with TIOCGPTPEER and the image's flags, and the master closed, which hangs the
 * slave up again.</li>
 * <li><b>External</b> (its master was held outside the dumped tree: a shell's terminal, tmux, sshd):
 * restored only with {@code --shell-job}, on the terminal of the calling fdrestore (option
 * {@value #SHELL_JOB_OPTION}, its path), opened with the image's flags.</li>
 * </ul>
 */
final class OrphanSlave implements FileRestorer {
    /** Plugin option: the path of the terminal that external slaves are restored onto ({@code --shell-job}). */
    static final String SHELL_JOB_OPTION = "shell-job-tty";

    private final TtyFile slave;
    private final String terminal;
    /** Hung up: every hung-up slave file of this index, by id; the first opens them all. */
    private final List<TtyFile> together;

    private OrphanSlave(TtyFile slave, String terminal, List<TtyFile> together) {
        this.slave = slave;
        this.terminal = terminal;
        this.together = together;
    }

    static boolean hungUp(TtyFile slave) {
        return !slave.info().hasTermios();
    }

    /**
     * A hung-up slave file; {@code together} are all the hung-up slave files of its index, by id. They are
     * one tty, which keeps its index while any of them is open: the first of them opens every one on the
     * same master (each with its flags) and hands the others theirs.
     */
    static OrphanSlave hung(TtyFile slave, List<TtyFile> together) {
        return new OrphanSlave(slave, null, List.copyOf(together));
    }

    static OrphanSlave onTerminal(TtyFile slave, String terminal) {
        return new OrphanSlave(slave, terminal, List.of(slave));
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        TaskTable t = ctx.table();
        int flags = slave.entry().getFlags() & Tty.OPEN_MASK;
        List<Integer> owned = new ArrayList<>();
        try {
            if (terminal != null) {
                int fd = t.open(terminal, flags | O_NOCTTY | O_CLOEXEC, 0);
                owned.add(fd);
                TaskTable.Stat st = t.fstat(fd);
                if (st.type() != S_IFCHR) {
                    throw new IOException(terminal + " is not a terminal (mode " + Tty.octal(st.mode()) + ")");
                }
                owned.clear();
                return OpenResult.done(fd);
            }
            if (together.get(0).id() != slave.id()) {
                java.util.OptionalInt handed = ctx.takeHandOff();
                if (handed.isEmpty()) {
                    ctx.waitingFor("hung-up tty file " + together.get(0).id() + ", which opens every slave of pty "
                            + slave.index());
                    return OpenResult.again();
                }
                return OpenResult.done(handed.getAsInt());
            }
            boolean anyIndex = Boolean.parseBoolean(ctx.option(PtyMaster.ANY_INDEX_OPTION));
            PtmxAllocator.Master m = PtmxAllocator.open(t, "/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                    slave.index(), anyIndex, PtmxAllocator.MAX_TRIES, IndexHolders::describe);
            owned.add(m.fd());
            Tty.setInt(t, m.fd(), Tty.TIOCSPTLCK, 0);
            int fd = t.ioctl(m.fd(), Tty.TIOCGPTPEER, PtySlave.peerFlags(slave));
            owned.add(fd);
            for (TtyFile other : together.subList(1, together.size())) {
                int o = t.ioctl(m.fd(), Tty.TIOCGPTPEER, PtySlave.peerFlags(other));
                ctx.handOff(other.id(), o); // the engine's from here on
            }
            t.close(m.fd()); // the slaves are hung up from here on, as they were
            owned.clear();
            return OpenResult.done(fd);
        } catch (IOException e) { // SysException too
            IOException failure = new IOException(this + ": " + e.getMessage(), e);
            t.closeAll(owned, failure);
            throw failure;
        } catch (Exception | Error e) {
            t.closeAll(owned, e);
            throw e;
        }
    }

    @Override
    public String toString() {
        return terminal != null
                ? "pty slave " + slave.path() + " (tty file " + slave.id() + ", its master outside the images) on --shell-job's terminal " + terminal
                : "hung-up pty slave " + slave.path() + " (tty file " + slave.id() + ", pty index " + slave.index() + ", flags "
                        + Tty.octal(slave.entry().getFlags()) + ")";
    }

    /** The plan error of an external slave without {@code --shell-job}. */
    static String external(TtyFile slave) {
        return slave + ": its master (an open of /dev/ptmx with index " + slave.index() + ") was held outside the"
                + " dumped tree (a shell's terminal, tmux, sshd): restore with --shell-job (onto fdrestore's own terminal)"
                + " or --inherit-fd fd[N]:tty[" + Integer.toHexString(slave.info().getRdev()) + ":"
                + Integer.toHexString(slave.info().getDev()) + "]";
    }
}
