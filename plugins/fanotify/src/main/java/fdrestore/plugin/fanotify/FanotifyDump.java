package fdrestore.plugin.fanotify;

import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.Syscalls;
import fdrestore.api.sys.SysException;
import fdrestore.plugin.fanotify.proto.FanotifyFileEntry;
import fdrestore.plugin.fanotify.proto.FanotifyInodeMarkEntry;
import fdrestore.plugin.fanotify.proto.FanotifyMarkEntry;
import fdrestore.plugin.fanotify.proto.FanotifyMountMarkEntry;
import fdrestore.plugin.fanotify.proto.FhEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dump side of a fanotify group, as criu reads it: fdinfo's {@code fanotify flags:} line (init flags,
 * event flags), one {@code fanotify mnt_id:} line per mount mark (its mount point from the task's
 * mountinfo) and one {@code fanotify ino:} line per inode mark (its file handle, and the path that handle
 * opens on the mount of its file system, unless the inode has no name left). A file-system mark (fdinfo's
 * {@code fanotify sdev:}), which criu 4.2 cannot dump either, fails the dump naming it.
 */
final class FanotifyDump {
    private static final int O_PATH = 010000000;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_CLOEXEC = 02000000;
    private static final int AT_FDCWD = -100;
    /** criu's FH_ENTRY_SIZES__min_entries: the handle is written as 16 u64s, whatever its length. */
    private static final int HANDLE_WORDS = 16;

    private FanotifyDump() {
    }

    static FanotifyFileEntry entry(DumpContext ctx, Fdinfo in) throws DumpException {
        Map<String, String> head = fields(in.lines("fanotify flags").stream().findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no \"fanotify flags:\" line")));
        FanotifyFileEntry.Builder e = FanotifyFileEntry.newBuilder().setId((int) ctx.id())
                .setFlags(in.flags() & ~FanotifyKind.O_CLOEXEC).setFown(ctx.fown().toByteString())
                .setFaflags(hex(head, "flags")).setEvflags(hex(head, "event-flags"));
        List<String[]> mounts = null;
        for (String line : in.lines()) {
            if (!line.startsWith("fanotify ") || line.startsWith("fanotify flags:")) {
                continue;
            }
            Map<String, String> f = fields(line);
            FanotifyMarkEntry.Builder m = FanotifyMarkEntry.newBuilder().setId((int) ctx.id())
                    .setMflags(hex(f, "mflags")).setMask(hex(f, "mask")).setIgnoredMask(hex(f, "ignored_mask"));
            if (line.startsWith("fanotify mnt_id:")) {
                mounts = mounts != null ? mounts : mountinfo(ctx.pid());
                int mntId = hex(f, "mnt_id");
                String[] mi = mounts.stream().filter(x -> Integer.parseInt(x[0]) == mntId).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("mount mark on mount " + mntId
                                + ", which /proc/" + ctx.pid() + "/mountinfo does not list"));
                m.setType(FanotifyKind.MOUNT).setSDev(dev(mi[2]))
                        .setMe(FanotifyMountMarkEntry.newBuilder().setMntId(mntId).setPath(mi[4]));
            } else if (line.startsWith("fanotify ino:")) {
                int bytes = hex(f, "fhandle-bytes");
                String hexHandle = f.getOrDefault("f_handle", "");
                if (bytes > 128 || hexHandle.length() != 2 * bytes) {
                    throw new IllegalArgumentException("inode mark with a file handle of " + bytes + " bytes (" + hexHandle + ")");
                }
                byte[] handle = new byte[bytes];
                for (int i = 0; i < bytes; i++) {
                    handle[i] = (byte) Integer.parseInt(hexHandle.substring(2 * i, 2 * i + 2), 16);
                }
                int type = hex(f, "fhandle-type");
                FhEntry.Builder fh = FhEntry.newBuilder().setBytes(bytes).setType(type);
                for (int w = 0; w < Math.max(HANDLE_WORDS, (bytes + 7) / 8); w++) {
                    long v = 0;
                    for (int i = 0; i < 8 && 8 * w + i < bytes; i++) {
                        v |= (handle[8 * w + i] & 0xffL) << (8 * i);
                    }
                    fh.addHandle(v);
                }
                int sdev = hex(f, "sdev");
                mounts = mounts != null ? mounts : mountinfo(ctx.pid());
                String path = pathOf(ctx.pid(), mounts, sdev, type, handle);
                if (path != null) {
                    fh.setPath(path);
                }
                m.setType(FanotifyKind.INODE).setSDev(sdev).setIe(FanotifyInodeMarkEntry.newBuilder()
                        .setIIno(Long.parseUnsignedLong(f.get("ino"), 16)).setFHandle(fh));
            } else {
                throw new DumpException("fanotify: a mark criu cannot dump either (a file-system mark?): " + line);
            }
            e.addMark(m);
        }
        return e.build();
    }

    /** "key:value" pairs of one fdinfo line (after its "fanotify " word). */
    private static Map<String, String> fields(String line) {
        Map<String, String> out = new HashMap<>();
        for (String w : line.substring(line.indexOf(' ') + 1).trim().split("\\s+")) {
            int c = w.indexOf(':');
            if (c > 0) {
                out.put(w.substring(0, c), w.substring(c + 1));
            }
        }
        return out;
    }

    private static int hex(Map<String, String> f, String key) {
        String v = f.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no " + key + ": field");
        }
        return (int) Long.parseUnsignedLong(v, 16);
    }

    /** The kernel's dev_t (major << 20 | minor) of mountinfo's "MAJOR:MINOR". */
    private static int dev(String majMin) {
        String[] mm = majMin.split(":");
        return Integer.parseInt(mm[0]) << 20 | Integer.parseInt(mm[1]);
    }

    /** mountinfo lines of the task, split; the mount point (field 4) unescaped. */
    private static List<String[]> mountinfo(int pid) throws DumpException {
        try {
            return Files.readAllLines(Path.of("/proc", Integer.toString(pid), "mountinfo")).stream().map(l -> {
                String[] f = l.split(" ");
                f[4] = unescape(f[4]);
                return f;
            }).toList();
        } catch (IOException e) {
            throw new DumpException("fanotify: cannot read /proc/" + pid + "/mountinfo: " + e.getMessage(), e);
        }
    }

    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /**
     * The path of the inode a handle names, opened on a mount of its file system in the task's root; null
     * when no mount opens it or the inode has no name left (criu then records the handle only).
     */
    private static String pathOf(int pid, List<String[]> mounts, int sdev, int type, byte[] handle) {
        for (String[] mi : mounts) {
            if (dev(mi[2]) != sdev) {
                continue;
            }
            int mount;
            try {
                mount = (int) Syscalls.local("openat", AT_FDCWD, "/proc/" + pid + "/root" + mi[4], O_DIRECTORY | O_CLOEXEC, 0);
            } catch (SysException e) {
                continue;
            }
            try {
                byte[] fh = new byte[8 + handle.length];
                fh[0] = (byte) handle.length;
                fh[1] = (byte) (handle.length >>> 8);
                for (int i = 0; i < 4; i++) {
                    fh[4 + i] = (byte) (type >>> (8 * i));
                }
                System.arraycopy(handle, 0, fh, 8, handle.length);
                int fd = (int) Syscalls.local("open_by_handle_at", mount, fh, O_PATH | O_CLOEXEC);
                try {
                    String p = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
                    return p.endsWith(" (deleted)") || !p.startsWith("/") ? null : p;
                } finally {
                    Syscalls.closeLocal(fd);
                }
            } catch (IOException e) {
                // not on this mount: try the next one of the same file system
            } finally {
                try {
                    Syscalls.closeLocal(mount);
                } catch (SysException e) {
                    // a close of our own O_DIRECTORY fd does not fail
                }
            }
        }
        return null;
    }
}
