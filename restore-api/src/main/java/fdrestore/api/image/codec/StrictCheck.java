package fdrestore.api.image.codec;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The strict decode mode: an image passes only if every field of every message (and sub-message) is one
 * that CRIU defines for that message. fdrestore's schemas model CRIU's messages field for field, except
 * where a message is modelled only in part ({@code TaskCoreEntry} stops at {@code comm}); the fields CRIU
 * defines beyond the modelled ones are listed here, so that a real criu image passes while a field CRIU
 * does not define (an fdrestore addition smuggled into a CRIU message, or garbage) is refused with the
 * image, the entry and the field path. fdrestore's own image ({@code fdr-task.img}) must have no unknown
 * field at all.
 */
public final class StrictCheck {
    /** Field numbers CRIU defines in messages fdrestore models only in part (CRIU's core.proto). */
    private static final Map<String, Set<Integer>> CRIU_BEYOND_MODEL = Map.of(
            // timers 7, rlimits 8, cg_set 9, signals_s 10, old_seccomp_mode 11, old_seccomp_filter 12,
            // loginuid 13, oom_score_adj 14, sigactions 15, child_subreaper 18, blk_sigset_extended 20,
            // stop_signo 21, membarrier_registration_mask 22
            "TaskCoreEntry", Set.of(7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 20, 21, 22));

    private StrictCheck() {
    }

    /** The problems of one decoded image (empty when it passes). {@code source} names it in messages. */
    public static List<String> check(ImageFile image, String source) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < image.size(); i++) {
            walk(image.entry(i).message(), source + " entry " + i + ": " + typeName(image.entry(i).message()), out);
        }
        return out;
    }

    /** Fails with an {@link ImageFormatException} on the first problem of {@code image}. */
    public static void require(ImageFile image, Path source) throws ImageFormatException {
        List<String> p = check(image, String.valueOf(source));
        if (!p.isEmpty()) {
            throw new ImageFormatException(source, -1, 0, "strict mode: " + String.join("; ", p));
        }
    }

    /** Reads an image and checks it strictly. */
    public static ImageFile readStrict(Path file) throws IOException {
        ImageFile f = ImageReader.read(file);
        require(f, file);
        return f;
    }

    /**
     * Checks every image of a directory that fdrestore knows by name (others, such as CRIU's memory
     * images, are not read). Undecodable images are problems too.
     */
    public static List<String> checkDir(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        TreeSet<Path> files = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.img")) {
            ds.forEach(files::add);
        }
        for (Path p : files) {
            Optional<Magic> m = Magic.forFileName(p.getFileName().toString());
            if (m.isEmpty()) {
                continue;
            }
            try {
                out.addAll(check(ImageReader.read(p, m.get()), p.getFileName().toString()));
            } catch (ImageFormatException e) {
                out.add(e.getMessage());
            }
        }
        return out;
    }

    private static void walk(Message m, String path, List<String> out) {
        UnknownFieldSet unknown = m.getUnknownFields();
        if (!unknown.asMap().isEmpty()) {
            Set<Integer> allowed = CRIU_BEYOND_MODEL.getOrDefault(typeName(m), Set.of());
            for (int n : unknown.asMap().keySet()) {
                if (!allowed.contains(n)) {
                    out.add(path + ": field " + n + " is not a field CRIU defines in " + typeName(m));
                }
            }
        }
        for (Map.Entry<FieldDescriptor, Object> f : m.getAllFields().entrySet()) {
            FieldDescriptor fd = f.getKey();
            if (fd.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            if (fd.isRepeated()) {
                List<?> list = (List<?>) f.getValue();
                for (int i = 0; i < list.size(); i++) {
                    walk((Message) list.get(i), path + "." + fd.getName() + "[" + i + "]", out);
                }
            } else {
                walk((Message) f.getValue(), path + "." + fd.getName(), out);
            }
        }
    }

    private static String typeName(Message m) {
        return m.getDescriptorForType().getName();
    }
}
