package fdrestore.plugin.unixsocket;

import java.util.Arrays;

/**
 * One queued packet of sk-queues.img: the bytes that socket {@code receiver} (a file id) had not read yet,
 * and the file ids passed with it by SCM_RIGHTS (empty when none).
 */
record Packet(long receiver, byte[] data, long[] rights) {
    Packet {
        data = data.clone();
        rights = rights.clone();
    }

    byte[] raw() {
        return data;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Packet p && p.receiver == receiver && Arrays.equals(p.data, data)
                && Arrays.equals(p.rights, rights);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(receiver) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return data.length + " bytes for file " + receiver + (rights.length == 0 ? "" : " with fds of files "
                + Arrays.toString(rights));
    }
}
