package fdrestore.plugin.pidfd;

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
import fdrestore.api.spi.ProcessAction;
import fdrestore.plugin.pidfd.proto.PidfdEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of pidfds ({@code FdType.PIDFD}; criu's {@code PidfdEntry} in files.img's raw
 * {@code pidfd} field, parsed with this plugin's own schema).
 *
 * <p>A pidfd of a process that is gone ({@code nspid} -1) is restored as criu 4.2 does: a helper process
 * is started, one pidfd is opened on it for each file of one {@code ino} (so files that shared a process
 * share one again), and the helper is killed and reaped; each file adopts its pidfd into the task.
 *
 * <p>A pidfd of a live task of the tree ({@code nspid} &gt; 0) needs that task's process, which fdrestore
 * builds only after every fd table is restored: the table holds a placeholder ({@link LivePidfd}), and the
 * holding task's own process opens the pidfd over it once the real pid is known
 * ({@link ProcessAction.Pidfd}, from {@link #processActions}). One such file is one task's: a file shared by
 * several tasks is refused, as are a pidfd of a process outside the tree and flags other than PIDFD_NONBLOCK.
 */
@Extension
public final class PidfdKind implements FileKind, FileDumper {
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;

    @Override
    public String name() {
        return "pidfd";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.PIDFD);
    }

    static PidfdEntry entry(FileEntry f, long id) throws PlanException {
        if (!f.hasPidfd()) {
            throw new PlanException("pidfd file " + id + ": files.img has no pidfd entry for it");
        }
        try {
            return PidfdEntry.parseFrom(f.getPidfd());
        } catch (InvalidProtocolBufferException e) {
            throw new PlanException("pidfd file " + id + ": field pidfd is not a pidfd entry: " + e.getMessage());
        }
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        PidfdEntry e = entry(file.entry(), file.id());
        if ((e.getFlags() & ~O_NONBLOCK) != 0) {
            throw new PlanException("pidfd file " + file.id() + ": field flags 0" + Integer.toOctalString(e.getFlags())
                    + " is not a pidfd's (0 or PIDFD_NONBLOCK)");
        }
        if (e.getNspid() > 0) {
            if (ctx.images().task(e.getNspid()).isEmpty()) {
                throw new PlanException("pidfd file " + file.id() + ": field nspid " + e.getNspid()
                        + " is a process outside the tree");
            }
            long tasks = file.fles().stream().mapToInt(f -> f.pid()).distinct().count();
            if (tasks > 1) {
                throw new PlanException("pidfd file " + file.id() + " of task " + e.getNspid() + " is shared by "
                        + tasks + " tasks: each task's process opens its own pidfd, so one description cannot be shared");
            }
            return new LivePidfd(file.id(), e.getNspid());
        }
        if (e.getNspid() != -1) {
            throw new PlanException("pidfd file " + file.id() + ": field nspid " + e.getNspid()
                    + " is neither a pid nor -1 (a process that is gone)");
        }
        // One helper per ino among the dead pidfds of this image set: files that shared a process share one.
        Map<Long, DeadProcess> byIno = deadByIno(ctx);
        DeadProcess d = byIno.get(e.getIno());
        return new PidfdRestorer(file.id(), e.getFlags(), d);
    }

    /**
     * The dead processes of the restore's image set, one per ino, each expecting its files' count of
     * pidfds: made once per plan ({@link PlanContext#memo}), or why not.
     */
    private static Map<Long, DeadProcess> deadByIno(PlanContext ctx) throws PlanException {
        Object m = ctx.memo(DeadProcess.class, () -> {
            try {
                return deadByIno(ctx.images());
            } catch (PlanException e) {
                return e;
            }
        });
        if (m instanceof PlanException e) {
            throw new PlanException(e.getMessage(), e.getCause());
        }
        @SuppressWarnings("unchecked")
        Map<Long, DeadProcess> byIno = (Map<Long, DeadProcess>) m;
        return byIno;
    }

    private static Map<Long, DeadProcess> deadByIno(ImageSet images) throws PlanException {
        Map<Long, Integer> count = new HashMap<>();
        for (FileEntry f : images.files().values()) {
            if (f.getType() == FdType.PIDFD.code() && !images.sharers(Integer.toUnsignedLong(f.getId())).isEmpty()) {
                PidfdEntry e = entry(f, Integer.toUnsignedLong(f.getId()));
                if (e.getNspid() == -1) {
                    count.merge(e.getIno(), 1, Integer::sum);
                }
            }
        }
        Map<Long, DeadProcess> m = new HashMap<>();
        for (Map.Entry<Long, Integer> c : count.entrySet()) {
            m.put(c.getKey(), new DeadProcess(c.getKey(), c.getValue()));
        }
        return m;
    }

    /**
     * The pidfds of live tasks that {@code task} holds: each file's process opens it itself, once the real
     * pid of the task it refers to is known ({@link ProcessAction.Pidfd}), over {@link LivePidfd}'s placeholder.
     */
    @Override
    public List<ProcessAction> processActions(ImageSet.Task task, PlanContext ctx) throws PlanException {
        Map<Long, List<Integer>> fds = new java.util.LinkedHashMap<>();
        Map<Long, PidfdEntry> entries = new HashMap<>();
        for (ImageSet.Fd fd : task.fds()) {
            if (fd.type() != FdType.PIDFD) {
                continue;
            }
            FileEntry f = ctx.images().file(fd.fileId()).orElse(null);
            if (f == null) {
                continue;
            }
            PidfdEntry e = entry(f, fd.fileId());
            if (e.getNspid() > 0) {
                fds.computeIfAbsent(fd.fileId(), k -> new ArrayList<>()).add(fd.fd());
                entries.put(fd.fileId(), e);
            }
        }
        List<ProcessAction> out = new ArrayList<>();
        fds.forEach((id, list) -> out.add(new ProcessAction.Pidfd(list, entries.get(id).getNspid(),
                entries.get(id).getFlags() & O_NONBLOCK)));
        return out;
    }

    @Override
    public boolean dumps(LiveFile file) {
        return file.isAnonInode("pidfd");
    }

    /** Records nspid ({@code NSpid:}/{@code Pid:} of fdinfo; -1 for a process that is gone), ino and flags. */
    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        String pid = in.value("NSpid") != null ? in.value("NSpid").split("\\s+")[0] : in.value("Pid");
        if (pid == null) {
            throw new DumpException("pidfd: fdinfo has no Pid line (fdinfo: " + in + ")");
        }
        int nspid = Integer.parseInt(pid);
        PidfdEntry e = PidfdEntry.newBuilder().setId((int) ctx.id()).setIno(ctx.file().stat().ino())
                .setFlags(in.flags() & O_NONBLOCK).setNspid(nspid).setFown(ctx.fown().toByteString()).build();
        return FileEntry.newBuilder().setType(FdType.PIDFD.code()).setId((int) ctx.id())
                .setPidfd(ByteString.copyFrom(e.toByteArray())).build();
    }

    @Override
    public String describe(FileEntry entry, ImageSet images) {
        try {
            PidfdEntry e = PidfdEntry.parseFrom(entry.getPidfd());
            return "pidfd of " + (e.getNspid() == -1 ? "a process that is gone" : "pid " + e.getNspid()) + " (ino "
                    + e.getIno() + ")" + ((e.getFlags() & O_NONBLOCK) != 0 ? " PIDFD_NONBLOCK" : "");
        } catch (InvalidProtocolBufferException x) {
            return "pidfd (field pidfd is not a pidfd entry: " + x.getMessage() + ")";
        }
    }

    /** A pidfd, of a process that is gone when the image says so ({@code Pid: -1} in fdinfo). */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        if (!link.equals("anon_inode:[pidfd]")) {
            out.add("is " + link + ", expected anon_inode:[pidfd]");
            return out;
        }
        try {
            PidfdEntry e = PidfdEntry.parseFrom(entry.getPidfd());
            String pid = fdinfo.value("Pid");
            if (e.getNspid() == -1 && !"-1".equals(pid)) {
                out.add("refers to pid " + pid + ", expected a process that is gone (Pid: -1)");
            } else if (e.getNspid() > 0 && (pid == null || pid.equals("-1"))) {
                out.add("refers to no live process (Pid: " + pid + "), expected the restored task " + e.getNspid());
            }
        } catch (InvalidProtocolBufferException x) {
            out.add("field pidfd is not a pidfd entry: " + x.getMessage());
        }
        return out;
    }

    @Override
    public List<GraphLink> graphLinks(FileEntry entry, ImageSet images) {
        try {
            PidfdEntry e = PidfdEntry.parseFrom(entry.getPidfd());
            return e.getNspid() > 0 ? List.of(new GraphLink(e.getNspid(), "pid " + e.getNspid(), "pidfd"))
                    : List.of(new GraphLink(0, "process gone (ino " + e.getIno() + ")", "pidfd"));
        } catch (InvalidProtocolBufferException x) {
            return List.of();
        }
    }
}
