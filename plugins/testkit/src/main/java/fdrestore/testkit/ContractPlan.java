package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.Stage;
import fdrestore.testkit.FileKindContractTest.Restore;
import fdrestore.testkit.FileKindContractTest.RootSetup;
import fdrestore.testkit.FileKindContractTest.Scenario;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One scenario of {@link FileKindContractTest} planned: its images written and opened, its root prepared,
 * every file planned by the kind under test or by the other kinds, and the fd floor above the images' fds.
 */
record ContractPlan(Scenario scenario, ImageSet images, Path root, List<Planned> files, int floor) {
    /** One file with the kind that planned it. */
    record Planned(FileInfo info, FileKind kind, FileRestorer restorer, boolean underTest) {
    }

    static ContractPlan of(Scenario s, Path contractDir, FileKind kind, FileKind other) throws Exception {
        Path dir = Files.createTempDirectory(contractDir, s.name.replaceAll("[^A-Za-z0-9_-]", "_"));
        ImageSet images = ImageSet.open(s.images.write(dir.resolve("images")));
        Path root = Files.createDirectories(dir.resolve("root"));
        for (RootSetup r : s.roots) {
            r.prepare(root);
        }
        PlanContext pc = TestPlanContext.of(images).root(root).options(s.options);
        List<Planned> files = new ArrayList<>();
        int maxFd = 0;
        for (Map.Entry<Long, List<ImageSet.FdRef>> e : images.sharers().entrySet()) {
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : e.getValue()) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
                maxFd = Math.max(maxFd, r.fd().fd());
            }
            fles.sort(null);
            FdType type = e.getValue().get(0).fd().type();
            boolean underTest = kind.fdTypes().contains(type);
            FileKind k = underTest ? kind : other;
            if (!k.fdTypes().contains(type)) {
                fail(s.name + ": no kind restores " + type + " (file " + e.getKey() + ")");
            }
            FileInfo info = new FileInfo(e.getKey(), type, images.file(e.getKey()).orElseThrow(), fles);
            FileRestorer r;
            try {
                r = k.plan(info, pc);
            } catch (PlanException x) {
                throw new AssertionError(s.name + ": planning " + info + " failed: " + x.getMessage(), x);
            }
            assertNotNull(r, info + ": plan returned null");
            files.add(new Planned(info, k, r, underTest));
        }
        assertTrue(files.stream().anyMatch(Planned::underTest), s.name + " has no file of the kind under test");
        return new ContractPlan(s, images, root, files, Math.max(100, maxFd + 64));
    }

    /** Every task holds exactly its image fds, each file one description, every slot RESTORED. */
    void checkComplete(Restore r) {
        Map<Long, FakeKernel.FakeFile> byFile = new HashMap<>();
        Map<FakeKernel.FakeFile, Long> byDescription = new IdentityHashMap<>();
        for (ImageSet.Task t : images.tasks()) {
            FakeTaskTable table = r.table(t.pid());
            List<Integer> want = new ArrayList<>();
            t.fds().forEach(f -> want.add(f.fd()));
            want.sort(null);
            assertEquals(want, table.openFds(), "task " + t.pid() + " must hold exactly its image fds (no temporary,"
                    + " nothing leaked): " + table.calls());
            for (ImageSet.Fd fd : t.fds()) {
                String where = "task " + t.pid() + " fd " + fd.fd();
                assertEquals(fd.cloexec(), table.cloexec(fd.fd()), where + ": FD_CLOEXEC");
                assertEquals(Stage.RESTORED, r.engine().stageOf(t.pid(), fd.fd()), where);
                FakeKernel.FakeFile f = table.file(fd.fd());
                FakeKernel.FakeFile prev = byFile.putIfAbsent(fd.fileId(), f);
                if (prev != null) {
                    assertSame(prev, f, where + ": file " + fd.fileId() + " must be one open file description");
                }
                Long other = byDescription.putIfAbsent(f, fd.fileId());
                if (other != null && other != fd.fileId()) {
                    fail(where + ": files " + other + " and " + fd.fileId() + " share one description");
                }
            }
        }
        assertEquals(Map.of(), r.engine().ownedTemporaries(), "the engine holds no fd after success");
    }
}
