package fdrestore.api.spi;

import fdrestore.api.image.proto.FileEntry;

/**
 * The dump side of a file kind: recognises a live open file and writes its entry. Implemented by the
 * same extension class as the kind's {@link FileKind} ({@code class PipeKind implements FileKind,
 * FileDumper}), so that one plugin owns both directions of its kind.
 *
 * <p>The dump runs on an ordinary thread of the fdrestore JVM, in the JVM's own fd table: a dumper reads
 * the live file through {@link DumpContext#localFd()} (a pidfd_getfd copy) and may call the checked
 * syscall facade ({@code fdrestore.api.sys.Sys}) on it; every fd it creates itself it closes before it
 * returns or throws. The context owns (and closes) the fds it hands out.
 */
public interface FileDumper {
    /**
     * Whether this kind dumps {@code file}, from its {@code /proc/PID/fd} link, its fdinfo and its stat
     * (for example "pipe:[123]", a path whose mode is S_IFIFO, "anon_inode:[eventpoll]"). Cheap and
     * side-effect free: no syscall. Exactly one kind may recognise a file.
     */
    boolean dumps(LiveFile file);

    /**
     * Writes one open file description: returns its {@code files.img} entry, whose {@code id} is
     * {@link DumpContext#id()} and whose {@code type} is the fd type its fds are recorded with. Side
     * images (pipe data, ghost files, remaps) and extra files.img entries go through the context; they
     * are kept only when this method returns normally.
     *
     * @throws DumpException when the file cannot be recorded: {@link DumpException#unsupported} for a
     *         state the images cannot express (the dump may skip it with --skip-unknown), plain for a
     *         failure
     */
    FileEntry dump(DumpContext ctx) throws DumpException;

    /**
     * Whether this kind's entries name other fds of their task (an epoll's targets). Such descriptions are
     * dumped after every other one, so that what --skip-unknown leaves out is settled before they are
     * written: {@link DumpContext#fileIdOf} is then empty exactly for the fds that are not in the dump.
     */
    default boolean namesOtherFds() {
        return false;
    }
}
