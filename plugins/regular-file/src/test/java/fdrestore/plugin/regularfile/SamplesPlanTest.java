package fdrestore.plugin.regularfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.plugin.regularfile.RegularFileRestorer.Route;
import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Plans every REG file of the real CRIU 4.2 samples with --root = the sample's root/ directory. */
class SamplesPlanTest {
    private final RegularFileKind kind = new RegularFileKind();

    private static PlanContext ctx(ImageSet images, Path root) {
        return Fixtures.planCtx(images, root, Map.of());
    }

    private static FileInfo info(ImageSet images, long id, FileEntry e) {
        List<FleInfo> fles = new ArrayList<>();
        for (ImageSet.FdRef r : images.sharers(id)) {
            fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
        }
        fles.sort(null);
        return new FileInfo(id, FdType.REG, e, fles);
    }

    /** Plans all REG entries of {@code sample}; returns the restorers of those an fd refers to, by id. */
    private Map<Long, RegularFileRestorer> planAll(String sample) throws Exception {
        Path dir = Samples.criu(sample);
        ImageSet images = ImageSet.open(dir);
        Path root = dir.resolve("root");
        Map<Long, RegularFileRestorer> out = new HashMap<>();
        int planned = 0;
        for (Map.Entry<Long, FileEntry> e : images.files().entrySet()) {
            if (e.getValue().getType() != FdType.REG.code()) {
                continue;
            }
            RegularFileRestorer r = (RegularFileRestorer) kind.plan(info(images, e.getKey(), e.getValue()),
                    ctx(images, root));
            planned++;
            if (!images.sharers(e.getKey()).isEmpty()) {
                out.put(e.getKey(), r);
                RegFileEntry reg = e.getValue().getReg();
                if (r.route() == Route.ROOT) {
                    Path p = root.resolve(RegularFileRestorer.relative(r.openName()));
                    assertTrue(Files.exists(p), sample + ": " + p + " is shipped");
                    if (reg.hasSize()) {
                        assertEquals(reg.getSize(), Files.size(p), sample + ": size of " + p);
                    }
                }
            }
        }
        assertTrue(planned > 0, "the sample has REG files");
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"g_regfile", "v_ghost"})
    void everyRegFilePlans(String sample) throws Exception {
        assertFalse(planAll(sample).isEmpty());
    }

    @Test
    void gRegfileRoutes() throws Exception {
        Map<Long, RegularFileRestorer> rs = planAll("g_regfile");
        long devNull = 0;
        for (RegularFileRestorer r : rs.values()) {
            if (r.openName().equals("/dev/null")) {
                assertEquals(Route.HOST, r.route());
                devNull++;
            } else {
                assertEquals(Route.ROOT, r.route(), r.toString());
                assertEquals(0, r.flags() & fdrestore.api.sys.Linux.O_CLOEXEC);
            }
        }
        assertEquals(1, devNull, rs.toString());
    }

    @Test
    void vGhostHasOneGhostCreator() throws Exception {
        Map<Long, RegularFileRestorer> rs = planAll("v_ghost");
        RegularFileRestorer ghost = rs.get(5L);
        assertEquals(Route.GHOST_CREATOR, ghost.route(), ghost.toString());
        assertEquals(List.of(), ghost.peers(), "one description (fd 3 and the child's fd 12) uses the ghost");
        assertTrue(ghost.toString().contains("/tmp/criu-work/run/v_ghost.data"), ghost.toString());
        assertTrue(ghost.toString().contains("5000 bytes"), ghost.toString());
        assertEquals(Route.ROOT, rs.get(6L).route());
        assertEquals(fdrestore.api.sys.Linux.O_RDWR | fdrestore.api.sys.Linux.O_APPEND
                | fdrestore.api.sys.Linux.O_LARGEFILE, rs.get(6L).flags());
    }
}
