package fdrestore.plugin.pipe;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.codec.Payload;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The queued data of one pipe or FIFO ({@code pipes-data.img} / {@code fifo-data.img}): the bytes to
 * put back (a view of the image, read in chunks as it is written) and the pipe capacity to restore first
 * ({@code size}, 0 when the image does not record one). {@code source} and {@code entry} name the image
 * entry in errors (null and -1 for data from no image).
 */
record PipeData(long pipeId, int size, Payload payload, Path source, int entry) {
    /** The default capacity of a pipe: 16 pages. */
    static final int DEFAULT_PIPE_SIZE = 16 * 4096;

    /** No queued data and no recorded size. */
    static PipeData none(long pipeId) {
        return new PipeData(pipeId, 0, new byte[0]);
    }

    PipeData(long pipeId, int size, byte[] bytes) {
        this(pipeId, size, Payload.of(bytes), null, -1);
    }

    PipeData {
        Objects.requireNonNull(payload, "payload");
        if (size < 0) {
            throw new IllegalArgumentException("negative pipe size " + size);
        }
    }

    /** "pipes-data.img entry 3: " for messages, or "". */
    private String where() {
        return source == null ? "" : source.getFileName() + " entry " + entry + ": ";
    }

    /** A plan error of this data: with its image's format error as the cause when it comes from an image. */
    private PlanException refused(String problem) {
        if (source == null) {
            return new PlanException(problem);
        }
        ImageFormatException bad = new ImageFormatException(source, entry, payload.imageOffset(), problem);
        return new PlanException(bad.getMessage(), bad);
    }

    long length() {
        return payload.length();
    }

    /** A copy of the bytes, for a batch's single write: only for data up to {@link #DEFAULT_PIPE_SIZE}. */
    byte[] bytes() throws IOException {
        return payload.bytes(DEFAULT_PIPE_SIZE);
    }

    /** {@link #checkFits(String, long)} against this system's /proc/sys/fs/pipe-max-size. */
    void checkFits(String what) throws PlanException {
        checkFits(what, pipeMaxSize());
    }

    /** /proc/sys/fs/pipe-max-size, read once (1 MiB, the kernel's default, when it cannot be read). */
    static long pipeMaxSize() {
        long m = pipeMaxSize;
        if (m == 0) {
            // not Files.readString: /proc/sys reports a size of 0, and a sysctl read from an offset above 0
            // is at its end, so it read the "1" of "1048576" (the first byte, read alone) and stopped
            try (java.io.InputStream in = Files.newInputStream(Path.of("/proc/sys/fs/pipe-max-size"))) {
                m = Long.parseLong(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip());
            } catch (IOException | NumberFormatException e) {
                m = 1 << 20;
            }
            pipeMaxSize = m;
        }
        return m;
    }

    private static volatile long pipeMaxSize;

    /**
     * Checks that the data fits the recorded pipe size (before any syscall), and that a pipe can hold it at
     * all: the default capacity, or the size F_SETPIPE_SZ grants up to /proc/sys/fs/pipe-max-size
     * ({@code maxSize}; further only with CAP_SYS_RESOURCE, which a container's root often lacks). Data
     * above both would be read from the image only to fail at the pipe.
     */
    void checkFits(String what, long maxSize) throws PlanException {
        long len = payload.length();
        if (size > 0 && len > size) {
            throw refused(what + " " + pipeId + ": " + len
                    + " queued bytes are more than the pipe size " + size + " recorded in the image");
        }
        if (len > Math.max(DEFAULT_PIPE_SIZE, maxSize)) {
            throw refused(what + " " + pipeId + ": " + len + " queued bytes are more than a pipe holds"
                    + " (/proc/sys/fs/pipe-max-size " + maxSize + (size > 0 ? ", recorded size " + size : "")
                    + "): the image is corrupt or from another system");
        }
    }

    /**
     * Restores the capacity (F_SETPIPE_SZ, first: it fails once more data is queued than the new size
     * holds) and then writes the bytes into {@code fd}, a non-blocking write end of the pipe, in chunks of
     * at most {@link Payload#CHUNK} bytes read from the image. A write that finds the pipe full is an error
     * naming {@code what} and the pipe: the data never fit.
     */
    void restoreInto(TaskTable table, int fd, String what) throws IOException {
        if (size > 0) {
            try {
                table.fcntl(fd, Linux.F_SETPIPE_SZ, size);
            } catch (SysException e) {
                throw new IOException(where() + what + " " + pipeId + ": cannot set the pipe size to " + size + ": "
                        + e.getMessage(), e);
            }
        }
        writeInto(table, fd, what);
    }

    /** Writes the bytes into {@code fd} (non-blocking, its capacity already set), in chunks. */
    void writeInto(TaskTable table, int fd, String what) throws IOException {
        long total = payload.length();
        long[] done = {0};
        payload.forEachChunk(payload.chunkBuffer(), (buf, off, len) -> {
            for (int at = off, end = off + len; at < end; ) {
                int n;
                try {
                    n = table.write(fd, buf, at, end - at);
                } catch (SysException e) {
                    throw new IOException(where() + what + " " + pipeId + ": cannot write its " + total
                            + " queued bytes: " + e.getMessage(), e);
                }
                if (n <= 0) {
                    throw new IOException(where() + what + " " + pipeId + ": the pipe is full after " + done[0] + " of "
                            + total + " queued bytes (pipe size " + (size > 0 ? size + "" : "default")
                            + "): the data is larger than the pipe");
                }
                at += n;
                done[0] += n;
            }
        });
    }

    /**
     * Indexes a data image by pipe id. The payload that follows each entry must be exactly {@code bytes}
     * long, and a pipe id may appear once. No payload is read here.
     */
    static Map<Long, PipeData> index(ImageFile image) throws PlanException {
        return index(image, Path.of(image.magic().fileName()));
    }

    /** {@link #index(ImageFile)} of the image at {@code source} (which names it in errors). */
    static Map<Long, PipeData> index(ImageFile image, Path source) throws PlanException {
        Map<Long, PipeData> out = new HashMap<>();
        String name = image.magic().fileName();
        int i = 0;
        for (ImageEntry e : image.entries()) {
            PipeDataEntry pde = e.message(PipeDataEntry.class);
            long id = Integer.toUnsignedLong(pde.getPipeId());
            long announced = Integer.toUnsignedLong(pde.getBytes());
            Payload payload = e.payloadView();
            if (payload == null) {
                payload = Payload.of(new byte[0]);
            }
            if (payload.length() != announced) {
                throw new PlanException(name + " entry " + i + ": pipe " + id + " announces " + announced
                        + " bytes but " + payload.length() + " follow the entry");
            }
            long size = pde.hasSize() ? Integer.toUnsignedLong(pde.getSize()) : 0;
            if (size > Integer.MAX_VALUE) {
                throw new PlanException(name + " entry " + i + ": pipe " + id + " has an impossible size " + size);
            }
            if (out.put(id, new PipeData(id, (int) size, payload, source, i)) != null) {
                throw new PlanException(name + " entry " + i + ": pipe " + id + " has more than one data entry");
            }
            i++;
        }
        return out;
    }

    @Override
    public String toString() {
        return "pipe " + pipeId + " data (" + payload.length() + " bytes, size " + size + ")";
    }
}
