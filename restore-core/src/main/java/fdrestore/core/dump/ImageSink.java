package fdrestore.core.dump;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The images of one dump, collected in memory and written at the end. */
final class ImageSink {
    private final Map<Magic, List<ImageEntry>> single = new EnumMap<>(Magic.class);
    private final Map<String, ImageFile> perObject = new TreeMap<>();
    private final Map<String, byte[]> pages = new TreeMap<>();

    void add(Magic magic, ImageEntry entry) {
        single.computeIfAbsent(magic, k -> new ArrayList<>()).add(entry);
    }

    /** Sets a per-object image; fails if one of that name exists already. */
    void put(Magic magic, long id, List<ImageEntry> entries) {
        String name = magic.fileName(id);
        if (perObject.putIfAbsent(name, new ImageFile(magic, entries)) != null) {
            throw new IllegalStateException(name + " is written twice");
        }
    }

    /** Sets a raw page image, {@code pages-<id>.img}; fails if it exists already. */
    void putPages(long id, byte[] content) {
        String name = "pages-" + Long.toUnsignedString(id) + ".img";
        if (pages.putIfAbsent(name, content) != null) {
            throw new IllegalStateException(name + " is written twice");
        }
    }

    /** Replaces the entries of a single image. */
    void set(Magic magic, List<ImageEntry> entries) {
        single.put(magic, new ArrayList<>(entries));
    }

    List<ImageEntry> entries(Magic magic) {
        return single.getOrDefault(magic, List.of());
    }

    /** Writes every non-empty image (and every per-object image) into {@code dir}; returns the names. */
    List<String> writeTo(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        for (Map.Entry<Magic, List<ImageEntry>> e : single.entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            ImageWriter.write(new ImageFile(e.getKey(), e.getValue()), dir.resolve(e.getKey().fileName()));
            names.add(e.getKey().fileName());
        }
        for (Map.Entry<String, ImageFile> e : perObject.entrySet()) {
            ImageWriter.write(e.getValue(), dir.resolve(e.getKey()));
            names.add(e.getKey());
        }
        for (Map.Entry<String, byte[]> e : pages.entrySet()) {
            java.nio.file.Files.write(dir.resolve(e.getKey()), e.getValue());
            names.add(e.getKey());
        }
        return names;
    }
}
