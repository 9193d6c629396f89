package fdrestore.plugin.unixsocket;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Payload;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One queued packet of sk-queues.img: the bytes that socket {@code receiver} (a file id) had not read yet
 * (a view of the image: read when sent), the file ids passed with it by SCM_RIGHTS (empty when none), and
 * {@code where} it is in the images ("sk-queues.img entry 4"), for errors.
 */
record Packet(long receiver, Payload data, long[] rights, String where) {
    /** Datagrams up to this size go without asking the socket's send buffer first. */
    static final int SMALL = 64 << 10;

    Packet {
        rights = rights.clone();
    }

    long length() {
        return data.length();
    }

    /**
     * The whole packet, for a datagram (one sendmsg, so it must be whole in memory): refused, before any of
     * it is read, when it is larger than the send buffer of {@code fd} (which the kernel would refuse with
     * EMSGSIZE) or than {@link ImageEntry#MAX_PAYLOAD_ARRAY}.
     */
    byte[] whole(TaskTable t, int fd, String what) throws IOException, SysException {
        long len = data.length();
        if (len > SMALL) {
            byte[] out = new byte[4];
            t.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_SNDBUF, out);
            int sndbuf = ByteBuffer.wrap(out).order(ByteOrder.nativeOrder()).getInt();
            if (len > Math.min(sndbuf, ImageEntry.MAX_PAYLOAD_ARRAY)) {
                throw new IOException(what + ": " + where + " is a packet of " + len + " bytes for file " + receiver
                        + ", more than the socket's " + sndbuf + "-byte send buffer"
                        + (sndbuf > ImageEntry.MAX_PAYLOAD_ARRAY ? " allows to hold in memory ("
                                + ImageEntry.MAX_PAYLOAD_ARRAY + ")" : "")
                        + ": a datagram goes in one sendmsg, whole");
            }
        }
        return data.bytes(ImageEntry.MAX_PAYLOAD_ARRAY);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Packet p && p.receiver == receiver && p.data.equals(data)
                && Arrays.equals(p.rights, rights);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(receiver) * 31 + data.hashCode();
    }

    @Override
    public String toString() {
        return data.length() + " bytes for file " + receiver + (rights.length == 0 ? "" : " with fds of files "
                + Arrays.toString(rights));
    }
}
