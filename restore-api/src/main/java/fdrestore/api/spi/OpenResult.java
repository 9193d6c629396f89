package fdrestore.api.spi;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * What a plugin's {@link FileRestorer#open open} answers: {@link Done}, {@link Again} or {@link Fail}.
 * They map one to one onto the seeds' 0 / 1 / -1 ({@link #code()}), but are a type, never a bare int.
 *
 * <p>Done and Again may carry the fd the call created ({@link #newFd()}), once per file: from that moment
 * the engine owns it, moves it to its target number, applies the fd flags, marks the fle OPEN and serves it
 * out. A plugin must never keep that raw fd number across calls; after Again it asks
 * {@link OpenContext#fd()} for the fd's final number.
 */
public sealed interface OpenResult permits OpenResult.Done, OpenResult.Again, OpenResult.Fail {
    /** Marker for "no fd created in this call". */
    int NO_FD = -1;

    /** The seeds' code: 0 done, 1 again, -1 fail. */
    int code();

    /** The fd this call created, in the task table, if any. */
    OptionalInt newFd();

    /** The file is fully restored. */
    static Done done() {
        return Done.NO_NEW_FD;
    }

    /** The file is fully restored; {@code fd} is the fd this call created. */
    static Done done(int fd) {
        return new Done(checkFd(fd));
    }

    /** Not finished: call again after something changed. */
    static Again again() {
        return Again.NO_NEW_FD;
    }

    /** Not finished, but {@code fd} is the file's fd: serve it out now and call again later. */
    static Again again(int fd) {
        return new Again(checkFd(fd));
    }

    /** The restore of this file failed; aborts the whole restore. */
    static Fail fail(Throwable cause) {
        return new Fail(cause);
    }

    /** The restore of this file failed; aborts the whole restore. */
    static Fail fail(String reason) {
        return new Fail(new IllegalStateException(reason));
    }

    private static int checkFd(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("negative fd " + fd);
        }
        return fd;
    }

    /** Restored. */
    record Done(int fd) implements OpenResult {
        static final Done NO_NEW_FD = new Done(NO_FD);

        @Override
        public int code() {
            return 0;
        }

        @Override
        public OptionalInt newFd() {
            return fd == NO_FD ? OptionalInt.empty() : OptionalInt.of(fd);
        }
    }

    /** In progress or waiting: call again. */
    record Again(int fd) implements OpenResult {
        static final Again NO_NEW_FD = new Again(NO_FD);

        @Override
        public int code() {
            return 1;
        }

        @Override
        public OptionalInt newFd() {
            return fd == NO_FD ? OptionalInt.empty() : OptionalInt.of(fd);
        }
    }

    /** Failed. */
    record Fail(Throwable cause) implements OpenResult {
        public Fail {
            Objects.requireNonNull(cause, "cause");
        }

        @Override
        public int code() {
            return -1;
        }

        @Override
        public OptionalInt newFd() {
            return OptionalInt.empty();
        }
    }
}
