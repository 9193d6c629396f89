package fdrestore.plugin.inetsocket;

import com.google.protobuf.CodedOutputStream;
import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.testkit.ImageSetBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/** Writes CRIU-format image sets with inet sockets (and tcp-stream images) for the tests. */
final class InetImageBuilder {
    private final ImageSetBuilder base = new ImageSetBuilder();
    private final Map<Long, FileEntry> files = new HashMap<>();
    private int nextIno = 700000;

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** Options as a fresh socket has them (buffer sizes as getsockopt shows them). */
    static SkOptsEntry.Builder opts(int sndbuf, int rcvbuf) {
        return SkOptsEntry.newBuilder().setSoSndbuf(sndbuf).setSoRcvbuf(rcvbuf).setSoSndTmoSec(0).setSoSndTmoUsec(0)
                .setSoRcvTmoSec(0).setSoRcvTmoUsec(0).setReuseaddr(false).setSoReuseport(false);
    }

    static int[] words(int family, String host) {
        try {
            byte[] b = java.net.InetAddress.getByName(host).getAddress();
            if (family == InetConst.AF_INET6 && b.length == 4) {
                throw new IllegalArgumentException("IPv4 address for an IPv6 socket: " + host);
            }
            return new InetAddr(family, b, 0, 0).words();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** An inet socket entry with the usual required fields; adjust with the builder. */
    static InetSkEntry.Builder sk(int family, int type, int proto, int state, String src, int srcPort, String dst,
            int dstPort) {
        InetSkEntry.Builder b = InetSkEntry.newBuilder().setId(0).setIno(0).setFamily(family).setType(type)
                .setProto(proto).setState(state).setSrcPort(srcPort).setDstPort(dstPort).setFlags(02).setBacklog(0)
                .setFown(fown()).setOpts(opts(16384, 131072));
        for (int w : words(family, src)) {
            b.addSrcAddr(w);
        }
        for (int w : words(family, dst)) {
            b.addDstAddr(w);
        }
        return b;
    }

    InetImageBuilder task(int pid, int ppid) {
        base.task(pid, ppid);
        return this;
    }

    /** Adds a socket (id and inode assigned here); returns its file id. */
    long socket(InetSkEntry.Builder e) {
        int ino = nextIno++;
        return base.file(i -> {
            FileEntry f = FileEntry.newBuilder().setType(FdType.INETSK.code()).setId(i)
                    .setIsk(e.setId(i).setIno(ino).build()).build();
            files.put((long) i, f);
            return f;
        });
    }

    int ino(long fileId) {
        return entry(fileId).getIsk().getIno();
    }

    FileEntry entry(long fileId) {
        return Objects.requireNonNull(files.get(fileId), "no socket " + fileId);
    }

    /** tcp-stream-INO.img (INO in hex) of socket {@code fileId}, with fields given by CRIU number (see {@link #stream}). */
    InetImageBuilder stream(long fileId, byte[] message, byte[] inq, byte[] outq) throws IOException {
        byte[] payload = new byte[inq.length + outq.length];
        System.arraycopy(inq, 0, payload, 0, inq.length);
        System.arraycopy(outq, 0, payload, inq.length, outq.length);
        base.entry(Magic.TCP_STREAM, Integer.toUnsignedLong(ino(fileId)), TcpStreamEntry.parseFrom(message), payload);
        return this;
    }

    /** A TcpStreamEntry encoded by CRIU's field numbers: {@code fields[i]} is field i+1, null when absent. */
    static byte[] streamMessage(Integer... fields) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bo);
        for (int i = 0; i < fields.length; i++) {
            if (fields[i] != null) {
                o.writeUInt32(i + 1, fields[i]);
            }
        }
        o.flush();
        return bo.toByteArray();
    }

    InetImageBuilder fd(int pid, int fd, long fileId) {
        base.fd(pid, fd, fileId);
        return this;
    }

    Path write(Path dir) throws IOException {
        return base.write(dir);
    }
}
