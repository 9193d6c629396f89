package fdrestore.plugin.unixsocket;

import fdrestore.api.image.proto.FilePermsEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.FleInfo;

/**
 * One unix socket of the images ({@code UnixSkEntry}) that some fd refers to, with its master fd slot
 * (the engine's rule: lowest pid, then lowest fd).
 */
record UnixSock(long id, long ino, int type, int state, int flags, int backlog, long peer, UnixName name,
        int shutdown, SkOptsEntry opts, FilePermsEntry perms, String nameDir, boolean deleted, int uflags,
        FleInfo master) {
    static final int SOCK_STREAM = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_SEQPACKET = 5;
    static final int TCP_ESTABLISHED = 1;
    static final int TCP_CLOSE = 7;
    static final int TCP_LISTEN = 10;
    /** CRIU's uflags: an external socket (--ext-unix-sk) and a callback socket (a plugin dumped it). */
    static final int USK_EXTERN = 1;
    static final int USK_CALLBACK = 4;

    static UnixSock of(UnixSkEntry e, FleInfo master) {
        return new UnixSock(Integer.toUnsignedLong(e.getId()), Integer.toUnsignedLong(e.getIno()), e.getType(),
                e.getState(), e.getFlags(), e.getBacklog(), Integer.toUnsignedLong(e.getPeer()),
                UnixName.of(e.getName().toByteArray()), e.hasShutdown() ? e.getShutdown() : 0, e.getOpts(),
                e.hasFilePerms() ? e.getFilePerms() : null, e.hasNameDir() ? e.getNameDir() : null,
                e.hasDeleted() && e.getDeleted(), e.getUflags(), master);
    }

    boolean listening() {
        return state == TCP_LISTEN;
    }

    boolean established() {
        return state == TCP_ESTABLISHED;
    }

    boolean dgram() {
        return type == SOCK_DGRAM;
    }

    /** Stream or seqpacket: connection oriented. */
    boolean connectionOriented() {
        return type == SOCK_STREAM || type == SOCK_SEQPACKET;
    }

    static String typeName(int type) {
        return switch (type) {
            case SOCK_STREAM -> "stream";
            case SOCK_DGRAM -> "dgram";
            case SOCK_SEQPACKET -> "seqpacket";
            default -> "type " + type;
        };
    }

    static String stateName(int state) {
        return switch (state) {
            case TCP_ESTABLISHED -> "established";
            case TCP_CLOSE -> "unconnected";
            case TCP_LISTEN -> "listening";
            default -> "state " + state;
        };
    }

    /** "unix socket ino 448677 (file 5, stream, listening, name /run/x.sock)": names it in every error. */
    @Override
    public String toString() {
        return "unix socket ino " + ino + " (file " + id + ", " + typeName(type) + ", " + stateName(state)
                + (name.isEmpty() ? "" : ", name " + name + (deleted ? " (deleted)" : "")) + ")";
    }
}
