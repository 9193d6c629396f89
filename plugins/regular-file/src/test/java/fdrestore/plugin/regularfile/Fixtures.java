package fdrestore.plugin.regularfile;

import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.lenient;
import static org.mockito.Mockito.mock;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.testkit.TestPlanContext;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** Builders for unit tests: image entries, a mocked image set, plan and open contexts. */
final class Fixtures {
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 040000;
    static final int S_IFCHR = 020000;
    static final int S_IFIFO = 010000;

    private Fixtures() {
    }

    static FownEntry fown(int signum, int pidType, int pid) {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(signum).setPidType(pidType).setPid(pid).build();
    }

    static RegFileEntry.Builder reg(int id, String name, int flags, long pos) {
        return RegFileEntry.newBuilder().setId(id).setName(name).setFlags(flags).setPos(pos).setFown(fown(0, 0, 0));
    }

    static FileEntry file(RegFileEntry reg) {
        return FileEntry.newBuilder().setType(FdType.REG.code()).setId(reg.getId()).setReg(reg).build();
    }

    static FileInfo info(RegFileEntry reg, FleInfo... fles) {
        List<FleInfo> l = fles.length == 0 ? List.of(new FleInfo(1, 3, false)) : List.of(fles);
        return new FileInfo(Integer.toUnsignedLong(reg.getId()), FdType.REG, file(reg), l);
    }

    static ImageFile ghostImage(int mode, byte[] content) {
        GhostFileEntry head = GhostFileEntry.newBuilder().setUid(0).setGid(0).setMode(mode).build();
        return new ImageFile(Magic.GHOST_FILE, List.of(new ImageEntry(head, content)));
    }

    static ImageFile chunkedGhostImage(int mode, long size, long[] offs, byte[][] chunks) {
        List<ImageEntry> es = new ArrayList<>();
        es.add(ImageEntry.of(GhostFileEntry.newBuilder().setUid(0).setGid(0).setMode(mode).setChunks(true)
                .setSize(size).build()));
        for (int i = 0; i < offs.length; i++) {
            es.add(new ImageEntry(GhostChunkEntry.newBuilder().setOff(offs[i]).setLen(chunks[i].length).build(),
                    chunks[i]));
        }
        return new ImageFile(Magic.GHOST_FILE, es);
    }

    static RemapFilePathEntry remap(int orig, int remapId, int type) {
        return RemapFilePathEntry.newBuilder().setOrigId(orig).setRemapId(remapId).setRemapType(type).build();
    }

    /** A mocked image set: files, remaps, ghost images, sharers and tasks as given. */
    static final class Images {
        final ImageSet set = mock(ImageSet.class);
        final Map<Long, FileEntry> files = new HashMap<>();
        final List<RemapFilePathEntry> remaps = new ArrayList<>();
        final Map<Long, ImageFile> ghosts = new HashMap<>();
        final Map<Long, List<ImageSet.FdRef>> sharers = new HashMap<>();
        final List<ImageSet.Task> tasks = new ArrayList<>();

        Images() {
            try {
                lenient().when(set.entries(Magic.REMAP_FPATH, RemapFilePathEntry.class)).thenAnswer(i -> remaps);
                lenient().when(set.image(org.mockito.ArgumentMatchers.eq(Magic.GHOST_FILE), anyLong()))
                        .thenAnswer(i -> Optional.ofNullable(ghosts.get((Long) i.getArgument(1))));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            lenient().when(set.file(anyLong())).thenAnswer(i -> Optional.ofNullable(files.get((Long) i.getArgument(0))));
            lenient().when(set.sharers(anyLong()))
                    .thenAnswer(i -> sharers.getOrDefault((Long) i.getArgument(0), List.of()));
            lenient().when(set.tasks()).thenAnswer(i -> tasks);
            lenient().when(set.task(org.mockito.ArgumentMatchers.anyInt())).thenAnswer(i -> tasks.stream()
                    .filter(t -> t.pid() == (Integer) i.getArgument(0)).findFirst());
        }

        Images add(RegFileEntry reg, int pid, int fd) {
            long id = Integer.toUnsignedLong(reg.getId());
            files.put(id, file(reg));
            if (pid > 0) {
                ImageSet.Fd f = new ImageSet.Fd(fd, 0, id, FdType.REG.code(), FdType.REG, "fdinfo-1.img", 0);
                sharers.computeIfAbsent(id, k -> new ArrayList<>()).add(new ImageSet.FdRef(pid, f));
            }
            return this;
        }

        Images task(int pid, int pgid) {
            tasks.add(new ImageSet.Task(pid, 0, pgid, pgid, List.of(pid), 1, List.of(), "t", null));
            return this;
        }
    }

    static PlanContext planCtx(ImageSet images, Path root, Map<String, String> options) {
        return TestPlanContext.of(images).root(root).options(options);
    }

    /** An open context over one table, recording hand-offs. */
    static final class Ctx implements OpenContext {
        final FileInfo file;
        final TaskTable table;
        final Path root;
        final Map<Long, List<Integer>> handedOff = new HashMap<>();
        final ArrayDeque<Integer> inbox = new ArrayDeque<>();
        String waiting;

        Ctx(FileInfo file, TaskTable table, Path root) {
            this.file = file;
            this.table = table;
            this.root = root;
        }

        @Override
        public FileInfo file() {
            return file;
        }

        @Override
        public FleInfo master() {
            return file.fles().get(0);
        }

        @Override
        public TaskTable table() {
            return table;
        }

        @Override
        public OptionalInt fd() {
            return OptionalInt.empty();
        }

        @Override
        public Stage stage(long fileId) {
            return Stage.INITIALIZED;
        }

        @Override
        public Optional<Stage> stageInThisTask(long fileId) {
            return Optional.empty();
        }

        @Override
        public OptionalInt fdInThisTask(long fileId) {
            return OptionalInt.empty();
        }

        @Override
        public void handOff(long fileId, int fd) {
            handedOff.computeIfAbsent(fileId, k -> new ArrayList<>()).add(fd);
        }

        @Override
        public OptionalInt takeHandOff() {
            Integer fd = inbox.poll();
            return fd == null ? OptionalInt.empty() : OptionalInt.of(fd);
        }

        @Override
        public void signal(String condition) {
        }

        @Override
        public boolean signalled(String condition) {
            return false;
        }

        @Override
        public void waitingFor(String what) {
            waiting = what;
        }

        @Override
        public Path root() {
            return root;
        }

        @Override
        public String option(String name) {
            return null;
        }
    }
}
