package fdrestore.plugin.inotify;

import com.google.protobuf.InvalidProtocolBufferException;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.inotify.proto.InotifyFileEntry;
import fdrestore.plugin.inotify.proto.InotifyWdEntry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of inotify instances ({@code FdType.INOTIFY}; criu's {@code InotifyFileEntry} in
 * files.img's raw {@code ify} field, parsed with this plugin's own schema): the flags and each watch
 * (mask, watch descriptor, and the watched inode by path or by file handle, as criu records it).
 *
 * <p>Bounded before any syscall: the flags (IN_NONBLOCK only), the number of watches ({@value #MAX_WATCHES}),
 * each wd (1..{@value #MAX_WD}, distinct: the kernel hands them out in order, so a wd is reached by adding
 * and removing), each mask (inotify's bits only, not empty) and each path (absolute, no ".."). A watch
 * with neither a path nor a handle this file system can open fails the restore, naming it, unless
 * {@code --plugin-option inotify.drop-missing=true} drops it.
 */
@Extension
public final class InotifyKind implements FileKind {
    static final int O_NONBLOCK = 04000;
    static final int MAX_WATCHES = 8192;
    static final int MAX_WD = 65536;
    /** IN_ALL_EVENTS and the watch flags (IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT). */
    static final long MASK_BITS = 0xfffL | 0x01000000L | 0x02000000L | 0x04000000L | 0x10000000L | 0x20000000L
            | 0x40000000L | 0x80000000L;
    /** The option that drops a watch whose inode cannot be found. */
    public static final String DROP_MISSING = "inotify.drop-missing";

    /** The plugin option this kind reads (restore --plugin-option KEY=VALUE). */
    @Override
    public Set<String> options() {
        return Set.of(DROP_MISSING);
    }

    @Override
    public String name() {
        return "inotify";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.INOTIFY);
    }

    static InotifyFileEntry entry(FileEntry f, long id) throws PlanException {
        if (!f.hasIfy()) {
            throw new PlanException("inotify file " + id + ": files.img has no inotify entry (ify) for it");
        }
        try {
            return InotifyFileEntry.parseFrom(f.getIfy());
        } catch (InvalidProtocolBufferException e) {
            throw new PlanException("inotify file " + id + ": field ify is not an inotify entry: " + e.getMessage());
        }
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        InotifyFileEntry e = entry(file.entry(), file.id());
        String what = "inotify file " + file.id();
        if ((e.getFlags() & ~O_NONBLOCK) != 0) {
            throw new PlanException(what + ": field flags 0x" + Integer.toHexString(e.getFlags())
                    + " has bits an inotify instance cannot have (IN_NONBLOCK only)");
        }
        if (e.getWdCount() > MAX_WATCHES) {
            throw new PlanException(what + ": field wd has " + e.getWdCount() + " watches, more than " + MAX_WATCHES);
        }
        boolean drop = "true".equals(ctx.option(DROP_MISSING));
        List<InotifyWdEntry> watches = new ArrayList<>(e.getWdList());
        watches.sort(Comparator.comparingInt(InotifyWdEntry::getWd));
        Set<Integer> seen = new HashSet<>();
        List<Watch> out = new ArrayList<>();
        for (InotifyWdEntry w : watches) {
            String ww = what + ": watch wd " + Integer.toUnsignedString(w.getWd());
            if (w.getWd() < 1 || w.getWd() > MAX_WD || !seen.add(w.getWd())) {
                throw new PlanException(ww + ": field wd is " + (w.getWd() < 1 || w.getWd() > MAX_WD
                        ? "outside 1.." + MAX_WD : "given twice"));
            }
            long mask = Integer.toUnsignedLong(w.getMask());
            if (mask == 0 || (mask & ~MASK_BITS) != 0 || (mask & 0xfff) == 0) {
                throw new PlanException(ww + ": field mask 0x" + Long.toHexString(mask) + " is not an inotify mask");
            }
            String path = w.getFHandle().hasPath() ? w.getFHandle().getPath() : null;
            if (path != null && (!path.startsWith("/") || List.of(path.split("/")).contains("..") || path.indexOf(0) >= 0)) {
                throw new PlanException(ww + ": field f_handle.path " + path + " is not an absolute path without ..");
            }
            int bytes = w.getFHandle().getBytes();
            if (bytes > 128 || bytes > 8 * w.getFHandle().getHandleCount()) {
                throw new PlanException(ww + ": field f_handle.bytes " + Integer.toUnsignedString(bytes)
                        + " is more than its handle holds (at most 128, MAX_HANDLE_SZ)");
            }
            out.add(new Watch(w.getWd(), w.getMask() & ~0x40000000 /* IN_ISDIR is an event bit */, path,
                    w.getIIno(), w.getFHandle().getType(), handle(w)));
        }
        return new InotifyRestorer(file.id(), e.getFlags() & O_NONBLOCK, out, ctx.root(), drop);
    }

    private static byte[] handle(InotifyWdEntry w) {
        int n = w.getFHandle().getBytes();
        byte[] h = new byte[n];
        for (int i = 0; i < n; i++) {
            h[i] = (byte) (w.getFHandle().getHandle(i / 8) >>> (8 * (i % 8)));
        }
        return h;
    }

    /** One watch to restore: its wd, mask, path (null when criu recorded none) and file handle. */
    record Watch(int wd, int mask, String path, long ino, int handleType, byte[] handle) {
        @Override
        public String toString() {
            return "watch wd " + wd + " mask 0x" + Integer.toHexString(mask) + " on "
                    + (path != null ? path : "inode " + ino + " (no path recorded)");
        }
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        try {
            InotifyFileEntry e = InotifyFileEntry.parseFrom(entry.getIfy());
            StringBuilder sb = new StringBuilder("inotify, " + e.getWdCount() + " watch" + (e.getWdCount() == 1 ? "" : "es"));
            for (InotifyWdEntry w : e.getWdList()) {
                sb.append(sb.charAt(sb.length() - 1) == 's' || e.getWdCount() == 1 ? ": " : ", ").append("wd ")
                        .append(w.getWd()).append(' ').append(w.getFHandle().hasPath() ? w.getFHandle().getPath()
                                : "inode " + w.getIIno() + " (handle only)");
            }
            return sb + ((e.getFlags() & O_NONBLOCK) != 0 ? " IN_NONBLOCK" : "");
        } catch (InvalidProtocolBufferException x) {
            return "inotify (field ify is not an inotify entry: " + x.getMessage() + ")";
        }
    }

    /** The fd is an inotify instance with one {@code inotify wd:} line per watch the image records, with its mask. */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        if (!link.equals("anon_inode:inotify")) {
            out.add("is " + link + ", expected anon_inode:inotify");
            return out;
        }
        try {
            InotifyFileEntry e = InotifyFileEntry.parseFrom(entry.getIfy());
            List<String> lines = fdinfo.lines("inotify wd");
            for (InotifyWdEntry w : e.getWdList()) {
                if (!w.getFHandle().hasPath()) {
                    continue;   // a handle-only watch may have been dropped (--plugin-option inotify.drop-missing)
                }
                String wd = "inotify wd:" + Integer.toHexString(w.getWd()) + " ";
                String line = lines.stream().filter(l -> l.startsWith(wd)).findFirst().orElse(null);
                if (line == null) {
                    out.add("no watch wd " + w.getWd() + " (" + (w.getFHandle().hasPath() ? w.getFHandle().getPath()
                            : "inode " + w.getIIno()) + ")");
                } else if (!line.contains(" mask:" + Integer.toHexString(w.getMask() & 0xfff) + " ")
                        && !line.contains(" mask:" + Integer.toHexString(w.getMask()) + " ")) {
                    out.add("watch wd " + w.getWd() + ": " + line + ", expected mask " + Integer.toHexString(w.getMask()));
                }
            }
            if (lines.size() > e.getWdCount()) {   // more than the image: never fewer-by-option
                out.add(lines.size() + " watches, the image has " + e.getWdCount());
            }
        } catch (InvalidProtocolBufferException x) {
            out.add("field ify is not an inotify entry: " + x.getMessage());
        }
        return out;
    }
}
