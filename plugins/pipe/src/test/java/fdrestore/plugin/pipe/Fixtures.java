package fdrestore.plugin.pipe;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.testkit.TestPlanContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Builders shared by the tests: pipe descriptions, FileInfos, plan contexts over real image sets. */
final class Fixtures {
    private Fixtures() {
    }

    static FleInfo fle(int pid, int fd) {
        return new FleInfo(pid, fd, false);
    }

    static FleInfo cloexecFle(int pid, int fd) {
        return new FleInfo(pid, fd, true);
    }

    static FownEntry fown() {
        return FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** The files.img entry of one pipe description. */
    static FileEntry pipeEntry(long id, long pipeId, int flags) {
        return FileEntry.newBuilder().setType(FdType.PIPE.code()).setId((int) id)
                .setPipe(PipeEntry.newBuilder().setId((int) id).setPipeId((int) pipeId).setFlags(flags).setFown(fown()))
                .build();
    }

    static FileEntry fifoEntry(long id, long pipeId, long regfId) {
        return FileEntry.newBuilder().setType(FdType.FIFO.code()).setId((int) id)
                .setFifo(FifoEntry.newBuilder().setId((int) id).setPipeId((int) pipeId).setRegfId((int) regfId))
                .build();
    }

    /** A FileInfo with its fd slots in master order. */
    static FileInfo info(long id, FdType type, FileEntry entry, FleInfo... fles) {
        List<FleInfo> l = new ArrayList<>(Arrays.asList(fles));
        l.sort(null);
        return new FileInfo(id, type, entry, l);
    }

    /** A pipe member whose master is the first (lowest) of {@code fles}. */
    static PipePlan.Member member(long id, int flags, FleInfo... fles) {
        FleInfo m = Arrays.stream(fles).min(FleInfo::compareTo).orElseThrow();
        return new PipePlan.Member(id, flags, m);
    }

    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('A' + i % 26);
        }
        return b;
    }

    static PlanContext planContext(ImageSet images, Path root) {
        return TestPlanContext.of(images).root(root);
    }

    /** Every file of the image set of {@code type} that an fd refers to, as the engine would plan it. */
    static List<FileInfo> filesOfType(ImageSet images, FdType type) {
        List<FileInfo> out = new ArrayList<>();
        images.sharers().forEach((id, refs) -> {
            if (refs.isEmpty() || refs.get(0).fd().type() != type) {
                return;
            }
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : refs) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            out.add(new FileInfo(id, type, images.file(id).orElseThrow(), fles));
        });
        return out;
    }
}
