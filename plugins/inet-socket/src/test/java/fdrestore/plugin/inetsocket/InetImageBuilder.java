package fdrestore.plugin.inetsocket;

import com.google.protobuf.CodedOutputStream;
import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes CRIU-format image sets with inet sockets (and tcp-stream images) for the tests. */
final class InetImageBuilder {
    private final Map<Integer, PstreeEntry> tasks = new LinkedHashMap<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final List<FileEntry> files = new ArrayList<>();
    private final Map<Long, ImageEntry> streams = new LinkedHashMap<>();
    private int nextId = 1;
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
        PstreeEntry parent = tasks.get(ppid);
        int sid = parent == null ? pid : parent.getSid();
        tasks.put(pid, PstreeEntry.newBuilder().setPid(pid).setPpid(ppid).setPgid(sid).setSid(sid).addThreads(pid).build());
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** Adds a socket (id and inode assigned here); returns its file id. */
    long socket(InetSkEntry.Builder e) {
        int id = nextId++;
        int ino = nextIno++;
        files.add(FileEntry.newBuilder().setType(FdType.INETSK.code()).setId(id)
                .setIsk(e.setId(id).setIno(ino).build()).build());
        return id;
    }

    int ino(long fileId) {
        return entry(fileId).getIsk().getIno();
    }

    FileEntry entry(long fileId) {
        return files.stream().filter(f -> f.getId() == (int) fileId).findFirst().orElseThrow();
    }

    /** tcp-stream-INO.img (INO in hex) of socket {@code fileId}, with fields given by CRIU number (see {@link #stream}). */
    InetImageBuilder stream(long fileId, byte[] message, byte[] inq, byte[] outq) throws IOException {
        byte[] payload = new byte[inq.length + outq.length];
        System.arraycopy(inq, 0, payload, 0, inq.length);
        System.arraycopy(outq, 0, payload, inq.length, outq.length);
        streams.put(Integer.toUnsignedLong(ino(fileId)), new ImageEntry(TcpStreamEntry.parseFrom(message), payload));
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
        fds.get(pid).add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(0).setType(FdType.INETSK.code())
                .setFd(fd).build());
        return this;
    }

    Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        ImageWriter.write(new ImageFile(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder()
                .setImgVersion(2).setFdinfoPerId(true).build()))), dir.resolve(Magic.INVENTORY.fileName()));
        List<ImageEntry> ps = new ArrayList<>();
        tasks.values().forEach(p -> ps.add(ImageEntry.of(p)));
        ImageWriter.write(new ImageFile(Magic.PSTREE, ps), dir.resolve(Magic.PSTREE.fileName()));
        for (PstreeEntry p : tasks.values()) {
            int pid = p.getPid();
            ImageWriter.write(new ImageFile(Magic.IDS, List.of(ImageEntry.of(TaskKobjIdsEntry.newBuilder()
                    .setVmId(pid).setFilesId(pid).setFsId(pid).setSighandId(pid).build()))), dir.resolve(Magic.IDS.fileName(pid)));
            ImageWriter.write(new ImageFile(Magic.CORE, List.of(ImageEntry.of(CoreEntry.newBuilder().setMtype(1)
                    .setTc(TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                            .setBlkSigset(0).setComm("task-" + pid)).build()))), dir.resolve(Magic.CORE.fileName(pid)));
            List<ImageEntry> fi = new ArrayList<>();
            fds.get(pid).forEach(e -> fi.add(ImageEntry.of(e)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), dir.resolve(Magic.FDINFO.fileName(pid)));
        }
        List<ImageEntry> fe = new ArrayList<>();
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), dir.resolve(Magic.FILES.fileName()));
        for (Map.Entry<Long, ImageEntry> s : streams.entrySet()) {
            ImageWriter.write(new ImageFile(Magic.TCP_STREAM, List.of(s.getValue())),
                    dir.resolve(Magic.TCP_STREAM.fileName(s.getKey())));
        }
        return dir;
    }
}
