package fdrestore.app.bench;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Synthetic image sets for benchmarks: N tasks with M fds each, a chosen share of them shared.
 * <ul>
 * <li>flat: the root and N-1 children; shared files are opened by the root and held by every task.</li>
 * <li>tree: a binary tree of tasks; shared files as in flat.</li>
 * <li>chain: task i is the master of a file task i+1 needs (the seeds' "tasks stand in a chain").</li>
 * </ul>
 * Kinds are mixed: half of the files are pipes (with 16 bytes queued), half regular files under the
 * generated root. {@code sockets=K} adds K listening unix sockets a task, bound at /sock/tPID-K.sock under
 * the root, and {@code ghosts=K} K deleted files a task (ghost images, recreated and removed again by the
 * restore): what a restore makes on disk, for the hardening tests.
 */
public final class SyntheticImages {
    enum Shape { flat, tree, chain }

    public record Spec(int tasks, int fdsPerTask, double shared, Shape shape, int sockets, int ghosts) {
        public Spec(int tasks, int fdsPerTask, double shared, Shape shape) {
            this(tasks, fdsPerTask, shared, shape, 0, 0);
        }

        public static Spec parse(String s) {
            // TASKSxFDS[:shared=R][:shape=flat|tree|chain][:sockets=K][:ghosts=K]
            String[] parts = s.split(":");
            String[] nm = parts[0].toLowerCase(Locale.ROOT).split("x");
            if (nm.length != 2) {
                throw new IllegalArgumentException("expected TASKSxFDS, for example 32x64: " + s);
            }
            double shared = 0.5;
            Shape shape = Shape.flat;
            int sockets = 0;
            int ghosts = 0;
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("expected key=value: " + parts[i]);
                }
                switch (kv[0]) {
                    case "shared" -> shared = Double.parseDouble(kv[1]);
                    case "shape" -> shape = Shape.valueOf(kv[1]);
                    case "sockets" -> sockets = Integer.parseInt(kv[1]);
                    case "ghosts" -> ghosts = Integer.parseInt(kv[1]);
                    default -> throw new IllegalArgumentException("unknown key " + kv[0] + " (shared, shape, sockets, ghosts)");
                }
            }
            Spec sp = new Spec(Integer.parseInt(nm[0]), Integer.parseInt(nm[1]), shared, shape, sockets, ghosts);
            if (sp.tasks < 1 || sp.fdsPerTask < 3 || shared < 0 || shared > 1 || sockets < 0 || ghosts < 0) {
                throw new IllegalArgumentException("need at least 1 task and 3 fds a task, shared in [0, 1]: " + s);
            }
            return sp;
        }

        @Override
        public String toString() {
            return tasks + "x" + fdsPerTask + ":shared=" + shared + ":shape=" + shape
                    + (sockets > 0 ? ":sockets=" + sockets : "") + (ghosts > 0 ? ":ghosts=" + ghosts : "");
        }
    }

    private SyntheticImages() {
    }

    private static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** Writes the image set into {@code dir} and the files it names under {@code root}. */
    public static void write(Spec spec, Path dir, Path root) throws IOException {
        Files.createDirectories(dir);
        Files.createDirectories(root.resolve("data"));
        int base = 1000;
        int[] pids = new int[spec.tasks];
        int[] ppids = new int[spec.tasks];
        for (int i = 0; i < spec.tasks; i++) {
            pids[i] = base + i;
            ppids[i] = i == 0 ? 0 : switch (spec.shape) {
                case flat -> base;
                case tree -> base + (i - 1) / 2;
                case chain -> base + i - 1;
            };
        }
        List<FileEntry> files = new ArrayList<>();
        List<ImageEntry> pipeData = new ArrayList<>();
        List<List<FdinfoEntry>> tables = new ArrayList<>();
        for (int i = 0; i < spec.tasks; i++) {
            tables.add(new ArrayList<>());
        }
        int[] nextId = {1};
        int[] nextPipe = {5000};
        byte[] data = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        // stdio: /dev/null, one description for everyone
        int devnull = addReg(files, nextId, "/dev/null", 2, 020666);
        for (int t = 0; t < spec.tasks; t++) {
            for (int fd = 0; fd < 3; fd++) {
                tables.get(t).add(fdinfo(devnull, 1, fd));
            }
        }
        int rest = spec.fdsPerTask - 3;
        int sharedFds = (int) Math.round(rest * spec.shared);
        int fd0 = 3;
        if (spec.shape == Shape.chain) {
            // Task t opens p pipes that task t+1 holds too: the next task needs its predecessor's files.
            // Own ends at [3, 3+2p), the predecessor's at [3+2p, 3+4p), private fds after them.
            int p = sharedFds / 4;
            for (int t = 0; t < spec.tasks; t++) {
                for (int k = 0; k < p; k++) {
                    int[] ends = addPipe(files, nextId, nextPipe, pipeData, data);
                    tables.get(t).add(fdinfo(ends[0], 2, fd0 + 2 * k));
                    tables.get(t).add(fdinfo(ends[1], 2, fd0 + 2 * k + 1));
                    if (t + 1 < spec.tasks) {
                        tables.get(t + 1).add(fdinfo(ends[0], 2, fd0 + 2 * p + 2 * k));
                        tables.get(t + 1).add(fdinfo(ends[1], 2, fd0 + 2 * p + 2 * k + 1));
                    }
                }
            }
            fd0 += 4 * p;
            sharedFds = 4 * p;
        } else {
            for (int k = 0; k < sharedFds; k++) {
                int id;
                if (k % 2 == 0 && k + 1 < sharedFds) {
                    int[] ends = addPipe(files, nextId, nextPipe, pipeData, data);
                    for (int t = 0; t < spec.tasks; t++) {
                        tables.get(t).add(fdinfo(ends[0], 2, fd0 + k));
                        tables.get(t).add(fdinfo(ends[1], 2, fd0 + k + 1));
                    }
                    k++;
                    continue;
                }
                Path f = root.resolve("data/shared-" + k);
                Files.write(f, data);
                id = addReg(files, nextId, "/data/shared-" + k, 2, 0100644, data.length);
                for (int t = 0; t < spec.tasks; t++) {
                    tables.get(t).add(fdinfo(id, 1, fd0 + k));
                }
            }
            fd0 += sharedFds;
        }
        int privateFds = rest - sharedFds;
        for (int t = 0; t < spec.tasks; t++) {
            for (int k = 0; k < privateFds; k++) {
                int fd = fd0 + k;
                if (k % 2 == 0 && k + 1 < privateFds) {
                    int[] ends = addPipe(files, nextId, nextPipe, pipeData, data);
                    tables.get(t).add(fdinfo(ends[0], 2, fd));
                    tables.get(t).add(fdinfo(ends[1], 2, fd + 1));
                    k++;
                } else {
                    String name = "/data/t" + pids[t] + "-" + k;
                    Files.write(root.resolve(name.substring(1)), data);
                    tables.get(t).add(fdinfo(addReg(files, nextId, name, 0, 0100644, data.length), 1, fd));
                }
            }
        }
        List<ImageEntry> remaps = new ArrayList<>();
        if (spec.sockets > 0) {
            Files.createDirectories(root.resolve("sock"));
        }
        for (int t = 0; t < spec.tasks; t++) {
            int fd = spec.fdsPerTask;
            for (int k = 0; k < spec.sockets; k++) {
                int id = nextId[0]++;
                String path = "/sock/t" + pids[t] + "-" + k + ".sock";
                files.add(FileEntry.newBuilder().setType(FdType.UNIXSK.code()).setId(id).setUsk(UnixSkEntry.newBuilder()
                        .setId(id).setIno(1_000_000 + id).setType(1 /* SOCK_STREAM */).setState(10 /* TCP_LISTEN */)
                        .setFlags(2).setUflags(0).setBacklog(16).setPeer(0).setFown(fown()).setOpts(SkOptsEntry.newBuilder()
                                .setSoSndbuf(212992).setSoRcvbuf(212992).setSoSndTmoSec(0).setSoSndTmoUsec(0)
                                .setSoRcvTmoSec(0).setSoRcvTmoUsec(0).setSoRcvlowat(1))
                        .setName(com.google.protobuf.ByteString.copyFrom((path + "\0").getBytes(StandardCharsets.UTF_8))))
                        .build());
                tables.get(t).add(FdinfoEntry.newBuilder().setId(id).setFlags(0).setType(FdType.UNIXSK.code()).setFd(fd++)
                        .build());
            }
            for (int k = 0; k < spec.ghosts; k++) {
                int id = addReg(files, nextId, "/data/g" + pids[t] + "-" + k, 2, 0100600, data.length);
                remaps.add(ImageEntry.of(RemapFilePathEntry.newBuilder().setOrigId(id).setRemapId(id)
                        .setRemapType(1 /* GHOST */).build()));
                ImageWriter.write(new ImageFile(Magic.GHOST_FILE, List.of(new ImageEntry(GhostFileEntry.newBuilder()
                        .setUid(0).setGid(0).setMode(0100600).setSize(data.length).build(), data))),
                        dir.resolve(Magic.GHOST_FILE.fileName(id)));
                tables.get(t).add(fdinfo(id, 1, fd++));
            }
        }
        if (!remaps.isEmpty()) {
            ImageWriter.write(new ImageFile(Magic.REMAP_FPATH, remaps), dir.resolve(Magic.REMAP_FPATH.fileName()));
        }
        ImageWriter.write(new ImageFile(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder()
                .setImgVersion(2).setFdinfoPerId(true).build()))), dir.resolve(Magic.INVENTORY.fileName()));
        List<ImageEntry> ps = new ArrayList<>();
        for (int i = 0; i < spec.tasks; i++) {
            ps.add(ImageEntry.of(PstreeEntry.newBuilder().setPid(pids[i]).setPpid(ppids[i]).setPgid(base).setSid(base)
                    .addThreads(pids[i]).build()));
        }
        ImageWriter.write(new ImageFile(Magic.PSTREE, ps), dir.resolve(Magic.PSTREE.fileName()));
        for (int i = 0; i < spec.tasks; i++) {
            int pid = pids[i];
            ImageWriter.write(new ImageFile(Magic.IDS, List.of(ImageEntry.of(TaskKobjIdsEntry.newBuilder().setVmId(pid)
                    .setFilesId(pid).setFsId(pid).setSighandId(pid).build()))), dir.resolve(Magic.IDS.fileName(pid)));
            ImageWriter.write(new ImageFile(Magic.CORE, List.of(ImageEntry.of(CoreEntry.newBuilder().setMtype(1)
                    .setTc(TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                            .setBlkSigset(0).setComm("bench")).build()))), dir.resolve(Magic.CORE.fileName(pid)));
            List<ImageEntry> fi = new ArrayList<>();
            tables.get(i).forEach(e -> fi.add(ImageEntry.of(e)));
            ImageWriter.write(new ImageFile(Magic.FDINFO, fi), dir.resolve(Magic.FDINFO.fileName(pid)));
        }
        List<ImageEntry> fe = new ArrayList<>();
        files.forEach(f -> fe.add(ImageEntry.of(f)));
        ImageWriter.write(new ImageFile(Magic.FILES, fe), dir.resolve(Magic.FILES.fileName()));
        ImageWriter.write(new ImageFile(Magic.PIPES_DATA, pipeData), dir.resolve(Magic.PIPES_DATA.fileName()));
    }

    private static FdinfoEntry fdinfo(int id, int type, int fd) {
        return FdinfoEntry.newBuilder().setId(id).setFlags(0).setType(type).setFd(fd).build();
    }

    private static int addReg(List<FileEntry> files, int[] next, String path, int flags, int mode) {
        int id = next[0]++;
        files.add(FileEntry.newBuilder().setType(FdType.REG.code()).setId(id).setReg(RegFileEntry.newBuilder().setId(id)
                .setFlags(flags).setPos(0).setFown(fown()).setName(path).setMode(mode)).build());
        return id;
    }

    private static int addReg(List<FileEntry> files, int[] next, String path, int flags, int mode, long size) {
        int id = next[0]++;
        files.add(FileEntry.newBuilder().setType(FdType.REG.code()).setId(id).setReg(RegFileEntry.newBuilder().setId(id)
                .setFlags(flags).setPos(0).setFown(fown()).setName(path).setMode(mode).setSize(size)).build());
        return id;
    }

    private static int[] addPipe(List<FileEntry> files, int[] next, int[] nextPipe, List<ImageEntry> pipeData, byte[] data) {
        int pipeId = nextPipe[0]++;
        int r = next[0]++;
        int w = next[0]++;
        files.add(FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(r)
                .setPipe(PipeEntry.newBuilder().setId(r).setPipeId(pipeId).setFlags(0).setFown(fown())).build());
        files.add(FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(w)
                .setPipe(PipeEntry.newBuilder().setId(w).setPipeId(pipeId).setFlags(1).setFown(fown())).build());
        pipeData.add(new ImageEntry(PipeDataEntry.newBuilder().setPipeId(pipeId).setBytes(data.length).build(), data));
        return new int[] {r, w};
    }
}
