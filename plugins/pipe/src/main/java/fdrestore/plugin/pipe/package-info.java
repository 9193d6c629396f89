/**
 * The "pipe" plugin: pipes ({@code FdType.PIPE}) and named FIFOs ({@code FdType.FIFO}).
 *
 * <p>Pipes are nested sharing (seed 003): several open file descriptions share one pipe object
 * ({@code PipeEntry.pipe_id}). One creator per pipe makes it, restores its size and queued data, keeps its
 * own end and hands an fd of the pipe to the master of every other description, which uses it as is or
 * reopens it through {@code /proc/thread-self/fd} for a description of its own. FIFOs are opened by path
 * under {@code --root}, each description on its own, after a "fake" O_RDWR open so that no open blocks;
 * the queued data goes in once per FIFO, through the fake fd.
 */
package fdrestore.plugin.pipe;
