package fdrestore.plugin.inetsocket;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.testkit.TestPlanContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Plan contexts and FileInfos over real image sets, as the engine's caller builds them. */
final class Fixtures {
    private Fixtures() {
    }

    static PlanContext planContext(ImageSet images, Map<String, String> options) {
        return TestPlanContext.of(images).options(options);
    }

    static PlanContext planContext(ImageSet images) {
        return planContext(images, new HashMap<>());
    }

    /** Every inet socket file an fd refers to, with its fd slots in master order. */
    static List<FileInfo> inetFiles(ImageSet images) {
        List<FileInfo> out = new ArrayList<>();
        images.sharers().forEach((id, refs) -> {
            if (refs.isEmpty() || refs.get(0).fd().type() != FdType.INETSK) {
                return;
            }
            List<FleInfo> fles = new ArrayList<>();
            for (ImageSet.FdRef r : refs) {
                fles.add(new FleInfo(r.pid(), r.fd().fd(), r.fd().cloexec()));
            }
            fles.sort(null);
            out.add(new FileInfo(id, FdType.INETSK, images.file(id).orElseThrow(), fles));
        });
        return out;
    }

    static FileInfo file(ImageSet images, long id) {
        return inetFiles(images).stream().filter(f -> f.id() == id).findFirst().orElseThrow();
    }
}
