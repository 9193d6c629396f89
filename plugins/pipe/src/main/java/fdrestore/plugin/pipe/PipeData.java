package fdrestore.plugin.pipe;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The queued data of one pipe or FIFO ({@code pipes-data.img} / {@code fifo-data.img}): the bytes to
 * put back and the pipe capacity to restore first ({@code size}, 0 when the image does not record one).
 */
record PipeData(long pipeId, int size, byte[] bytes) {
    /** No queued data and no recorded size. */
    static PipeData none(long pipeId) {
        return new PipeData(pipeId, 0, new byte[0]);
    }

    PipeData {
        bytes = bytes.clone();
        if (size < 0) {
            throw new IllegalArgumentException("negative pipe size " + size);
        }
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    int length() {
        return bytes.length;
    }

    /** The bytes without a copy, for the writes. */
    byte[] raw() {
        return bytes;
    }

    /** Checks that the data fits the recorded pipe size (before any syscall). */
    void checkFits(String what) throws PlanException {
        if (size > 0 && bytes.length > size) {
            throw new PlanException(what + " " + pipeId + ": " + bytes.length
                    + " queued bytes are more than the pipe size " + size + " recorded in the image");
        }
    }

    /**
     * Restores the capacity (F_SETPIPE_SZ, first: it fails once more data is queued than the new size
     * holds) and then writes the bytes into {@code fd}, a non-blocking write end of the pipe. A write that
     * finds the pipe full is an error naming {@code what} and the pipe: the data never fit.
     */
    void restoreInto(TaskTable table, int fd, String what) throws IOException {
        if (size > 0) {
            try {
                table.fcntl(fd, Linux.F_SETPIPE_SZ, size);
            } catch (SysException e) {
                throw new IOException(what + " " + pipeId + ": cannot set the pipe size to " + size + ": "
                        + e.getMessage(), e);
            }
        }
        int off = 0;
        while (off < bytes.length) {
            int n;
            try {
                n = table.write(fd, bytes, off, bytes.length - off);
            } catch (SysException e) {
                throw new IOException(what + " " + pipeId + ": cannot write its " + bytes.length
                        + " queued bytes: " + e.getMessage(), e);
            }
            if (n <= 0) {
                throw new IOException(what + " " + pipeId + ": the pipe is full after " + off + " of "
                        + bytes.length + " queued bytes (pipe size " + (size > 0 ? size + "" : "default")
                        + "): the data is larger than the pipe");
            }
            off += n;
        }
    }

    /**
     * Indexes a data image by pipe id. The payload that follows each entry must be exactly {@code bytes}
     * long, and a pipe id may appear once.
     */
    static Map<Long, PipeData> index(ImageFile image) throws PlanException {
        Map<Long, PipeData> out = new HashMap<>();
        String name = image.magic().fileName();
        for (ImageEntry e : image.entries()) {
            PipeDataEntry pde = e.message(PipeDataEntry.class);
            long id = Integer.toUnsignedLong(pde.getPipeId());
            long announced = Integer.toUnsignedLong(pde.getBytes());
            byte[] payload = e.payload();
            if (payload == null) {
                payload = new byte[0];
            }
            if (payload.length != announced) {
                throw new PlanException(name + ": pipe " + id + " announces " + announced + " bytes but "
                        + payload.length + " follow the entry");
            }
            long size = pde.hasSize() ? Integer.toUnsignedLong(pde.getSize()) : 0;
            if (size > Integer.MAX_VALUE) {
                throw new PlanException(name + ": pipe " + id + " has an impossible size " + size);
            }
            if (out.put(id, new PipeData(id, (int) size, payload)) != null) {
                throw new PlanException(name + ": pipe " + id + " has more than one data entry");
            }
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PipeData d && d.pipeId == pipeId && d.size == size && Arrays.equals(d.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(pipeId) * 31 + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "pipe " + pipeId + " data (" + bytes.length + " bytes, size " + size + ")";
    }
}
