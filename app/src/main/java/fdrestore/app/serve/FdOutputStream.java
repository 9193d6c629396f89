package fdrestore.app.serve;

import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.io.OutputStream;

/**
 * An output stream on a raw fd of this process (a served client's stdout or stderr), unbuffered: every
 * write is write(2) calls until all is written. It does not own the fd: closing the stream leaves it
 * open. A write to a reader that went away (EPIPE) fails with an IOException, which the PrintWriter on
 * top records, as it would for System.out.
 */
public final class FdOutputStream extends OutputStream {
    private final int fd;

    FdOutputStream(int fd) {
        this.fd = fd;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            int n;
            try {
                n = Sys.write(fd, b, off, len);
            } catch (SysException e) {
                throw new IOException("write to fd " + fd + ": " + e.getMessage(), e);
            }
            if (n < 0) {
                // a non-blocking output (the client's terminal may be): wait for room, as a blocking write would
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                continue;
            }
            off += n;
            len -= n;
        }
    }
}
