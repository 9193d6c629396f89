/**
 * The restored tree as processes: the holder program ({@link fdrestore.core.process.Holder}) and its reply
 * codes ({@link fdrestore.core.process.HolderCode}), its command line, the pipe protocol spoken with it,
 * the pipelined tree builder ({@link fdrestore.core.process.ProcessTree}), the tree killer, and what
 * {@code /proc} says of a process.
 *
 * <p>Imports the image model, the SPI, the engine's {@code RestoreException}, the task runtime and sys; it
 * learns what each task becomes through {@link fdrestore.core.process.TreePlan}, never from the restore
 * that plans it. May be imported by restore, dump, fault and the app; never imports them.
 */
package fdrestore.core.process;
