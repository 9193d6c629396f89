package fdrestore.api.spi;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import java.util.List;

/**
 * One open file description of the images, as a plugin sees it: its id (FdinfoEntry.id), its fd type,
 * its {@code files.img} entry and every fd slot that refers to it, in master order (lowest pid, then fd).
 */
public record FileInfo(long id, FdType type, FileEntry entry, List<FleInfo> fles) {
    public FileInfo {
        fles = List.copyOf(fles);
    }

    @Override
    public String toString() {
        return type + " file " + id;
    }
}
