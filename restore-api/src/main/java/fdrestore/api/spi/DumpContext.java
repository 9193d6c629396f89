package fdrestore.api.spi;

import com.google.protobuf.Message;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * What a {@link FileDumper} gets to dump one open file description. The description is dumped from its
 * first holder: the first task of the tree (pstree order) that has it, at its lowest fd there; {@link #file()}
 * is that slot. Every fd the context hands out is owned by the context and closed after the dump of this
 * description; a dumper never closes them.
 */
public interface DumpContext {
    /** The slot the description is dumped from. */
    LiveFile file();

    /** The real pid of the task that holds {@link #file()}. */
    default int pid() {
        return file().pid();
    }

    /** The fd number of {@link #file()} in its task. */
    default int fd() {
        return file().fd();
    }

    /** The file id of this description ({@code FileEntry.id}, {@code FdinfoEntry.id}). */
    long id();

    /** A new file id, for an extra files.img entry (the regular-file entry of a fifo's path, say). */
    long newId();

    /**
     * A copy of the fd in the JVM's own table (pidfd_getfd: the same open file description, so reading
     * its position or options reads the task's), with FD_CLOEXEC. Owned by the context.
     */
    int localFd();

    /**
     * A new open file description of the same file, opened through {@code /proc/self/fd/N} of
     * {@link #localFd()} with {@code flags} (for example a fresh read end of a pipe, or a deleted file's
     * content). O_CLOEXEC is added. Owned by the context.
     */
    int reopen(int flags) throws DumpException;

    /** The F_SETOWN state of the description (pid_type, pid, signal), read on {@link #localFd()}. */
    FownEntry fown() throws DumpException;

    /** The file id of the description behind fd {@code fd} of this task, or empty (no such fd, or skipped). */
    OptionalLong fileIdOf(int fd);

    /** The fds of this task, ascending. */
    int[] taskFds();

    /**
     * kcmp(2) in the task that holds {@link #file()}: true when its object {@code idx1} of kcmp type
     * {@code type} is the one {@code idx2} names, given as one word or, for a type that takes a structure,
     * as its u32 words (KCMP_EPOLL_TFD: this file's fd, the registered fd and its index among the
     * registrations with that fd number). False when either is gone (EBADF, ENOENT, EINVAL).
     */
    boolean kcmpSame(int type, int idx1, int... idx2) throws DumpException;

    /**
     * True if some fd of the dumped tree refers to the socket with inode {@code ino} (sockfs): a peer for
     * which it is false is outside the tree, and recorded as external. True by default (unknown).
     */
    default boolean treeHoldsSocket(long ino) {
        return true;
    }

    /** Adds an extra files.img entry (with an id from {@link #newId()}). */
    void addFile(FileEntry entry);

    /** Appends an entry to a single side image (pipes-data.img, remap-fpath.img ...). */
    void append(Magic magic, Message message, byte[] payload);

    /** Writes a per-object image ({@code ghost-file-ID.img}, {@code tcp-stream-INO.img}). */
    void writeImage(Magic magic, long id, List<ImageEntry> entries);

    /**
     * A value shared by every description of this dump: the first call for {@code key} makes it, later
     * calls get the same object (the pipe data written once per pipe, a counter of ghost ids ...).
     */
    <T> T memo(String key, Supplier<T> make);

    /**
     * Writes {@code pages-<pagesId>.img}, criu's raw page image (no header: page after page, as a
     * {@code pagemap-shmem-<shmid>.img} written with {@link #writeImage} announces them).
     */
    default void writePages(long pagesId, byte[] pages) {
        throw new UnsupportedOperationException("this dump context writes no page images");
    }

    /** Adds a line to the dump's report (something the images record only approximately, say). */
    void note(String message);
}
