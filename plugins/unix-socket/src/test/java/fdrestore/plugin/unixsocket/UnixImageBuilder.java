package fdrestore.plugin.unixsocket;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.ScmEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.testkit.TestPlanContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes image sets of unix sockets the way criu lays them out (inventory, pstree, ids, core, fdinfo,
 * files, sk-queues), for the tests. Sockets get ids from 1 and inodes from 9000 in creation order.
 */
final class UnixImageBuilder {
    static final int STREAM = 1;
    static final int DGRAM = 2;
    static final int SEQPACKET = 5;
    static final int ESTABLISHED = 1;
    static final int CLOSE = 7;
    static final int LISTEN = 10;

    private final Map<Integer, Integer> tasks = new LinkedHashMap<>();
    private final Map<Integer, List<FdinfoEntry>> fds = new LinkedHashMap<>();
    private final Map<Integer, UnixSkEntry.Builder> socks = new LinkedHashMap<>();
    private final List<ImageEntry> packets = new ArrayList<>();
    private final List<FileEntry> others = new ArrayList<>();
    private int nextId = 1;

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    static SkOptsEntry opts() {
        return SkOptsEntry.newBuilder().setSoSndbuf(212992).setSoRcvbuf(212992).setSoSndTmoSec(0)
                .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).setSoRcvlowat(1).build();
    }

    UnixImageBuilder task(int pid, int ppid) {
        tasks.put(pid, ppid);
        fds.put(pid, new ArrayList<>());
        return this;
    }

    /** A socket; returns its id (its inode is 9000 + id). */
    int sock(int type, int state) {
        int id = nextId++;
        socks.put(id, UnixSkEntry.newBuilder().setId(id).setIno(ino(id)).setType(type).setState(state)
                .setFlags(2).setUflags(0).setBacklog(0).setPeer(0).setFown(fown()).setOpts(opts())
                .setName(ByteString.EMPTY));
        return id;
    }

    /** A files.img entry of another kind ({@code type}, no kind-specific part); returns its id. */
    int otherFile(FdType type) {
        int id = nextId++;
        others.add(FileEntry.newBuilder().setType(type.code()).setId(id).build());
        return id;
    }

    static int ino(int id) {
        return 9000 + id;
    }

    UnixSkEntry.Builder edit(int id) {
        return socks.get(id);
    }

    UnixImageBuilder abstractName(int id, String name) {
        socks.get(id).setName(ByteString.copyFrom(("\0" + name).getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    UnixImageBuilder pathName(int id, String path) {
        socks.get(id).setName(ByteString.copyFrom((path + "\0").getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    UnixImageBuilder peer(int id, int peerId) {
        socks.get(id).setPeer(ino(peerId));
        return this;
    }

    /** Two sockets that are peers of each other. */
    UnixImageBuilder connect(int a, int b) {
        return peer(a, b).peer(b, a);
    }

    UnixImageBuilder fd(int pid, int fd, long fileId) {
        fds.get(pid).add(FdinfoEntry.newBuilder().setId((int) fileId).setFlags(0).setType(FdType.UNIXSK.code())
                .setFd(fd).build());
        return this;
    }

    UnixImageBuilder packet(int receiver, byte[] data, int... rights) {
        SkPacketEntry.Builder b = SkPacketEntry.newBuilder().setIdFor(receiver).setLength(data.length);
        if (rights.length > 0) {
            b.addScm(ScmEntry.newBuilder().setType(1).addAllRights(Arrays.stream(rights).boxed().toList()));
        }
        packets.add(new ImageEntry(b.build(), data));
        return this;
    }

    UnixImageBuilder packet(int receiver, String data, int... rights) {
        return packet(receiver, data.getBytes(StandardCharsets.UTF_8), rights);
    }

    Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        ImageWriter.write(new ImageFile(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder()
                .setImgVersion(2).setFdinfoPerId(true).build()))), dir.resolve(Magic.INVENTORY.fileName()));
        List<ImageEntry> ps = new ArrayList<>();
        int rootPid = tasks.keySet().iterator().next();
        tasks.forEach((pid, ppid) -> ps.add(ImageEntry.of(PstreeEntry.newBuilder().setPid(pid).setPpid(ppid)
                .setPgid(rootPid).setSid(rootPid).addThreads(pid).build())));
        ImageWriter.write(new ImageFile(Magic.PSTREE, ps), dir.resolve(Magic.PSTREE.fileName()));
        for (int pid : tasks.keySet()) {
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
        socks.forEach((id, b) -> fe.add(ImageEntry.of(FileEntry.newBuilder().setType(FdType.UNIXSK.code()).setId(id)
                .setUsk(b.build()).build())));
        others.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), dir.resolve(Magic.FILES.fileName()));
        if (!packets.isEmpty()) {
            ImageWriter.write(new ImageFile(Magic.SK_QUEUES, packets), dir.resolve(Magic.SK_QUEUES.fileName()));
        }
        return dir;
    }

    static PlanContext planContext(ImageSet images, Path root) {
        return TestPlanContext.of(images).root(root);
    }

    /** Every unix socket file an fd refers to, as the engine would plan it. */
    static List<FileInfo> files(ImageSet images) {
        List<FileInfo> out = new ArrayList<>();
        images.sharers().forEach((id, refs) -> {
            if (refs.isEmpty() || refs.get(0).fd().type() != FdType.UNIXSK) {
                return;
            }
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : refs) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            out.add(new FileInfo(id, FdType.UNIXSK, images.file(id).orElseThrow(), fles));
        });
        return out;
    }
}
