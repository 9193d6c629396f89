package fdrestore.plugin.fanotify;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.fanotify.proto.FanotifyFileEntry;
import fdrestore.plugin.fanotify.proto.FanotifyMarkEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of fanotify groups ({@code FdType.FANOTIFY}; criu's {@code FanotifyFileEntry} in files.img's
 * raw {@code ffy} field, parsed with this plugin's own schema): the group's init flags and event flags,
 * and each mark, on an inode (by path, or by file handle when criu recorded none) or on a mount (by its
 * mount point), with its mark flags, mask and ignored mask.
 *
 * <p>Bounded before any syscall: the file flags (O_RDWR, optionally O_NONBLOCK), the init flags and event
 * flags (the bits fanotify_init takes), the number of marks ({@value #MAX_MARKS}), each mark's type, flags
 * (the ones fdinfo shows), masks (fanotify's event bits, not both empty) and path (absolute, no "..").
 */
@Extension
public final class FanotifyKind implements FileKind, FileDumper {
    static final int O_ACCMODE = 03;
    static final int O_RDWR = 02;
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;
    static final int MAX_MARKS = 8192;
    /** criu's mark_type. */
    static final int INODE = 1;
    static final int MOUNT = 2;
    /** fanotify_init's flags (FANOTIFY_INIT_FLAGS: FAN_CLOEXEC .. FAN_REPORT_MNT). */
    static final int INIT_BITS = 0x7fff;
    static final int FAN_CLOEXEC = 0x1;
    static final int FAN_NONBLOCK = 0x2;
    /** event_f_flags fanotify_init takes: access mode, O_LARGEFILE, O_CLOEXEC, O_APPEND, O_DSYNC, O_NOATIME, O_NONBLOCK, O_SYNC. */
    static final int EVENT_BITS = O_ACCMODE | 0100000 | O_CLOEXEC | 02000 | 010000 | 01000000 | O_NONBLOCK | 04010000;
    /** The mark flags fdinfo shows: FAN_MARK_IGNORED_SURV_MODIFY, FAN_MARK_EVICTABLE, FAN_MARK_IGNORE. */
    static final int MARK_FLAG_BITS = 0x40 | 0x200 | 0x400;
    /** fanotify's event bits a mark can hold (FAN_ACCESS .. FAN_PRE_ACCESS, FAN_MNT_*, FAN_EVENT_ON_CHILD, FAN_RENAME, FAN_ONDIR). */
    static final long MASK_BITS = 0x0001ffffL | 0x00100000L | 0x03000000L | 0x08000000L | 0x10000000L | 0x40000000L;

    @Override
    public String name() {
        return "fanotify";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.FANOTIFY);
    }

    static FanotifyFileEntry entry(FileEntry f, long id) throws PlanException {
        if (!f.hasFfy()) {
            throw new PlanException("fanotify file " + id + ": files.img has no fanotify entry (ffy) for it");
        }
        try {
            return FanotifyFileEntry.parseFrom(f.getFfy());
        } catch (InvalidProtocolBufferException e) {
            throw new PlanException("fanotify file " + id + ": field ffy is not a fanotify entry: " + e.getMessage());
        }
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        FanotifyFileEntry e = entry(file.entry(), file.id());
        String what = "fanotify file " + file.id();
        int flags = e.getFlags() & ~O_CLOEXEC;
        if ((flags & ~(O_ACCMODE | O_NONBLOCK)) != 0 || (flags & O_ACCMODE) != O_RDWR) {
            throw new PlanException(what + ": field flags 0" + Integer.toOctalString(e.getFlags())
                    + " is not a fanotify group's (O_RDWR, optionally O_NONBLOCK)");
        }
        if ((e.getFaflags() & ~INIT_BITS) != 0) {
            throw new PlanException(what + ": field faflags 0x" + Integer.toHexString(e.getFaflags())
                    + " has bits fanotify_init does not take (0x" + Integer.toHexString(INIT_BITS) + ")");
        }
        if ((e.getEvflags() & ~EVENT_BITS) != 0) {
            throw new PlanException(what + ": field evflags 0" + Integer.toOctalString(e.getEvflags())
                    + " has bits an event's file cannot have");
        }
        if (e.getMarkCount() > MAX_MARKS) {
            throw new PlanException(what + ": field mark has " + e.getMarkCount() + " marks, more than " + MAX_MARKS);
        }
        List<Mark> marks = new ArrayList<>();
        int n = 0;
        for (FanotifyMarkEntry m : e.getMarkList()) {
            marks.add(mark(what + ": mark " + n++, m));
        }
        // FAN_CLOEXEC stays as recorded: the group shows its init flags in fdinfo (the restorer sets FD_CLOEXEC)
        int init = e.getFaflags() & ~FAN_NONBLOCK | ((flags & O_NONBLOCK) != 0 ? FAN_NONBLOCK : 0);
        return new FanotifyRestorer(file.id(), init, e.getEvflags(), marks, ctx.root());
    }

    private static Mark mark(String what, FanotifyMarkEntry m) throws PlanException {
        if ((m.getMflags() & ~MARK_FLAG_BITS) != 0) {
            throw new PlanException(what + ": field mflags 0x" + Integer.toHexString(m.getMflags())
                    + " has bits a mark does not keep (0x" + Integer.toHexString(MARK_FLAG_BITS) + ")");
        }
        long mask = Integer.toUnsignedLong(m.getMask());
        long ignored = Integer.toUnsignedLong(m.getIgnoredMask());
        for (long v : new long[] {mask, ignored}) {
            if ((v & ~MASK_BITS) != 0) {
                throw new PlanException(what + ": field " + (v == mask ? "mask" : "ignored_mask") + " 0x"
                        + Long.toHexString(v) + " has bits that are not fanotify events");
            }
        }
        if (mask == 0 && ignored == 0) {
            throw new PlanException(what + ": fields mask and ignored_mask are both empty: no mark looks so");
        }
        String path;
        byte[] handle = new byte[0];
        int handleType = 0;
        long ino = 0;
        if (m.getType() == INODE) {
            if (!m.hasIe()) {
                throw new PlanException(what + ": an inode mark without its inode (field ie)");
            }
            var fh = m.getIe().getFHandle();
            path = fh.hasPath() ? fh.getPath() : null;
            ino = m.getIe().getIIno();
            int bytes = fh.getBytes();
            if (bytes > 128 || bytes > 8 * fh.getHandleCount()) {
                throw new PlanException(what + ": field f_handle.bytes " + Integer.toUnsignedString(bytes)
                        + " is more than its handle holds (at most 128, MAX_HANDLE_SZ)");
            }
            handle = new byte[bytes];
            for (int i = 0; i < bytes; i++) {
                handle[i] = (byte) (fh.getHandle(i / 8) >>> (8 * (i % 8)));
            }
            handleType = fh.getType();
            if (path == null && bytes == 0) {
                throw new PlanException(what + ": an inode mark with neither a path nor a file handle");
            }
        } else if (m.getType() == MOUNT) {
            if (!m.hasMe() || !m.getMe().hasPath()) {
                throw new PlanException(what + ": a mount mark without the path of its mount (field me.path)");
            }
            path = m.getMe().getPath();
        } else {
            throw new PlanException(what + ": field type " + Integer.toUnsignedString(m.getType())
                    + " is neither INODE (1) nor MOUNT (2)");
        }
        if (path != null && (!path.startsWith("/") || List.of(path.split("/")).contains("..") || path.indexOf(0) >= 0)) {
            throw new PlanException(what + ": path " + path + " is not an absolute path without ..");
        }
        return new Mark(m.getType() == MOUNT, m.getMflags(), m.getMask(), m.getIgnoredMask(), path, ino, handleType,
                handle);
    }

    /** One mark to restore: on a mount or an inode, its flags and masks, its path (null: handle only). */
    record Mark(boolean mount, int mflags, int mask, int ignoredMask, String path, long ino, int handleType,
            byte[] handle) {
        @Override
        public String toString() {
            return (mount ? "mount mark on " : "inode mark on ") + (path != null ? path : "inode " + ino
                    + " (no path recorded)") + " mask 0x" + Integer.toHexString(mask)
                    + (ignoredMask != 0 ? " ignored 0x" + Integer.toHexString(ignoredMask) : "");
        }
    }

    @Override
    public boolean dumps(LiveFile file) {
        return file.isAnonInode("fanotify");
    }

    /** Records the group's flags and its marks from fdinfo, each inode mark with its path when it has one. */
    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        try {
            FanotifyFileEntry e = FanotifyDump.entry(ctx, in);
            return FileEntry.newBuilder().setType(FdType.FANOTIFY.code()).setId((int) ctx.id())
                    .setFfy(ByteString.copyFrom(e.toByteArray())).build();
        } catch (IllegalArgumentException e) {
            throw new DumpException("fanotify: " + e.getMessage() + " (fdinfo: " + in + ")", e);
        }
    }

    /** "fanotify, 2 marks: mount /, inode /tmp/f O_NONBLOCK". */
    @Override
    public String describe(FileEntry entry, ImageSet images) {
        try {
            FanotifyFileEntry e = FanotifyFileEntry.parseFrom(entry.getFfy());
            StringBuilder sb = new StringBuilder("fanotify flags 0x" + Integer.toHexString(e.getFaflags()) + ", "
                    + e.getMarkCount() + " mark" + (e.getMarkCount() == 1 ? "" : "s"));
            String sep = ": ";
            for (FanotifyMarkEntry m : e.getMarkList()) {
                sb.append(sep).append(m.getType() == MOUNT ? "mount " + m.getMe().getPath()
                        : "inode " + (m.getIe().getFHandle().hasPath() ? m.getIe().getFHandle().getPath()
                        : m.getIe().getIIno() + " (handle only)"));
                sep = ", ";
            }
            return sb + ((e.getFlags() & O_NONBLOCK) != 0 ? " O_NONBLOCK" : "");
        } catch (InvalidProtocolBufferException x) {
            return "fanotify (field ffy is not a fanotify entry: " + x.getMessage() + ")";
        }
    }

    /** The fd is a fanotify group with the image's flags and one mark line per mark, with its masks. */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        if (!link.equals("anon_inode:[fanotify]")) {
            out.add("is " + link + ", expected anon_inode:[fanotify]");
            return out;
        }
        try {
            FanotifyFileEntry e = FanotifyFileEntry.parseFrom(entry.getFfy());
            String head = fdinfo.lines("fanotify flags").stream().findFirst().orElse("");
            String want = "fanotify flags:" + Integer.toHexString(e.getFaflags()) + " event-flags:"
                    + Integer.toHexString(e.getEvflags());
            if (!head.equals(want)) {
                out.add("\"" + head + "\", expected \"" + want + "\"");
            }
            List<String> marks = new ArrayList<>(fdinfo.lines("fanotify ino"));
            marks.addAll(fdinfo.lines("fanotify mnt_id"));
            for (FanotifyMarkEntry m : e.getMarkList()) {
                String masks = " mflags:" + Integer.toHexString(m.getMflags()) + " mask:" + Integer.toHexString(m.getMask())
                        + " ignored_mask:" + Integer.toHexString(m.getIgnoredMask());
                String prefix = m.getType() == MOUNT ? "fanotify mnt_id:" : "fanotify ino:";
                if (marks.stream().noneMatch(l -> l.startsWith(prefix) && (l + " ").contains(masks + " "))) {
                    out.add("no " + (m.getType() == MOUNT ? "mount" : "inode") + " mark with" + masks + " (" + marks + ")");
                }
            }
            if (marks.size() != e.getMarkCount()) {
                out.add(marks.size() + " marks, the image has " + e.getMarkCount());
            }
        } catch (InvalidProtocolBufferException x) {
            out.add("field ffy is not a fanotify entry: " + x.getMessage());
        }
        return out;
    }
}
