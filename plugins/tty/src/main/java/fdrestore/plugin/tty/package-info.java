/**
 * The "tty" plugin: unix98 pseudo-terminals ({@code FdType.TTY}) and the controlling terminal.
 *
 * <p>A pty is one kernel object with two kinds of open file descriptions: the master (an open of
 * {@code /dev/ptmx}) and any number of slaves (opens of {@code /dev/pts/N}). The master restorer opens
 * {@code /dev/ptmx} until the kernel hands out the image's index (serialised by a plugin-wide lock, since
 * the index allocation is global to the host), unlocks it, replays the queued data, restores termios,
 * locked termios, window size, packet mode and the exclusive bit, and re-locks the pty once every slave is
 * open when the image says it was locked. Every slave file opens the slave path on its own, after its
 * master (one open file description per slave file id). The controlling terminal is not acquired at open
 * time (every open has O_NOCTTY): the session leader gets it as it becomes a process, from
 * {@link fdrestore.plugin.tty.TtyKind#processActions}; a leader holding no fd on its terminal takes it by path.
 * Opens of {@code /dev/tty} are made by the task's own process once its session has its terminal (a
 * placeholder holds the fd until then). A slave whose master is not in the images is either hung up
 * (restored on a master of its own, closed again) or external: restored with {@code --shell-job} on the
 * caller's terminal ({@link fdrestore.plugin.tty.OrphanSlave}).
 */
package fdrestore.plugin.tty;
