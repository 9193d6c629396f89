package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** A decoded image: its kind and its entries in file order. Immutable. */
public final class ImageFile {
    private final Magic magic;
    private final List<ImageEntry> entries;

    public ImageFile(Magic magic, List<ImageEntry> entries) {
        this.magic = Objects.requireNonNull(magic, "magic");
        this.entries = List.copyOf(entries);
    }

    public Magic magic() {
        return magic;
    }

    public List<ImageEntry> entries() {
        return entries;
    }

    public int size() {
        return entries.size();
    }

    public ImageEntry entry(int index) {
        return entries.get(index);
    }

    /** All messages, in order. */
    public List<Message> messages() {
        List<Message> out = new ArrayList<>(entries.size());
        for (ImageEntry e : entries) {
            out.add(e.message());
        }
        return out;
    }

    /** All messages that are of {@code type}, in order (for ghost images: the head or the chunks). */
    public <T extends Message> List<T> messages(Class<T> type) {
        List<T> out = new ArrayList<>(entries.size());
        for (ImageEntry e : entries) {
            if (type.isInstance(e.message())) {
                out.add(type.cast(e.message()));
            }
        }
        return out;
    }

    /** The only entry's message, for one-entry images (inventory, ids, core, fs). */
    public <T extends Message> T single(Class<T> type) {
        if (entries.size() != 1) {
            throw new IllegalStateException(magic + " image has " + entries.size() + " entries, expected 1");
        }
        return entries.get(0).message(type);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageFile f && magic == f.magic && entries.equals(f.entries);
    }

    @Override
    public int hashCode() {
        return magic.hashCode() * 31 + entries.hashCode();
    }

    @Override
    public String toString() {
        return magic + " image, " + entries.size() + " entries";
    }
}
