package fdrestore.core.dump;

import com.google.protobuf.ByteString;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.FsEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.sys.Linux;
import fdrestore.core.dump.DumpState.Desc;
import fdrestore.core.dump.DumpState.Slot;
import fdrestore.core.dump.DumpState.Task;
import fdrestore.core.process.Holder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The images of the tree itself, once every description is dumped: pstree, ids, core, fs (with the cwd
 * and root entries of files.img), fdinfo, fdrestore's own fdr-task.img (argv, env, cwd), files.img and
 * the inventory.
 */
final class TreeImages {
    private final ProcFs proc;
    private final DumpState state;

    TreeImages(ProcFs proc, DumpState state) {
        this.proc = proc;
        this.state = state;
    }

    /** Adds the tree's images to the state's sink, and every dumped description's entry to files.img. */
    void build() throws DumpException {
        Map<String, Long> nsIds = new HashMap<>();
        TaskKobjIdsEntry rootIds = null;
        for (Task t : state.tasks) {
            PstreeEntry.Builder p = PstreeEntry.newBuilder().setPid(t.pid)
                    .setPpid(t == state.tasks.get(0) ? 0 : t.stat.ppid()).setPgid(t.stat.pgid()).setSid(t.stat.sid());
            t.threads.forEach(p::addThreads);
            state.sink.add(Magic.PSTREE, ImageEntry.of(p.build()));

            TaskKobjIdsEntry ids = ids(t, nsIds);
            if (rootIds == null) {
                rootIds = ids;
            }
            state.sink.put(Magic.IDS, t.pid, List.of(ImageEntry.of(ids)));
            state.sink.put(Magic.CORE, t.pid, List.of(ImageEntry.of(core(t))));

            long cwdId = dirEntry(t, "cwd");
            long rootId = dirEntry(t, "root");
            FsEntry.Builder fs = FsEntry.newBuilder().setCwdId((int) cwdId).setRootId((int) rootId);
            String umask = proc.status(t.pid, "Umask");
            if (umask != null) {
                fs.setUmask(Integer.parseInt(umask, 8));
            }
            state.sink.put(Magic.FS, t.pid, List.of(ImageEntry.of(fs.build())));

            if (t.tableOwner == t) {
                List<ImageEntry> fdinfo = new ArrayList<>();
                for (Slot s : t.slots) {
                    if (s.desc().skipped != null) {
                        continue;
                    }
                    fdinfo.add(ImageEntry.of(FdinfoEntry.newBuilder().setId((int) s.desc().id)
                            .setFlags(s.cloexec() ? Linux.FD_CLOEXEC : 0).setType(s.desc().entry.getType())
                            .setFd(s.fd()).build()));
                }
                state.sink.put(Magic.FDINFO, t.filesId, fdinfo);
            }

            FdrTaskEntry.Builder fdr = FdrTaskEntry.newBuilder().setPid(t.pid).setComm(t.stat.comm());
            List<byte[]> argv = proc.nulSeparated(t.pid, "cmdline");
            if (!argv.isEmpty() && Holder.isHolder(new String(argv.get(0), StandardCharsets.UTF_8))) {
                // A task fdrestore restored: its command line is the holder's, with fd numbers of that
                // restore. No command is recorded, so a restore of these images holds the fds anew.
                state.notes.add("process " + t.pid + " (" + t.stat.comm() + ") runs fdrestore's holder (it was restored by "
                        + "fdrestore): no command line recorded, a restore holds its fds again");
            } else {
                argv.forEach(a -> fdr.addArgv(ByteString.copyFrom(a)));
                proc.nulSeparated(t.pid, "environ").forEach(a -> fdr.addEnv(ByteString.copyFrom(a)));
                fdr.setExecd(execd(t.pid, t.stat.ppid(), argv));
            }
            fdr.setCwd(ByteString.copyFrom(proc.link(t.pid, "cwd"), StandardCharsets.UTF_8));
            state.sink.add(Magic.FDR_TASK, ImageEntry.of(fdr.build()));
        }
        // Locks show in the fdinfo of the fds of the file they lock (only files have them): no kind is named.
        List<FileLocksDump.Held> held = new ArrayList<>();
        for (Task t : state.tasks) {
            for (Slot s : t.tableOwner == t ? t.slots : List.<Slot>of()) {
                if (s.desc().skipped == null && s.desc().entry != null) {
                    held.add(new FileLocksDump.Held(t.pid, s.fd(), s.desc().id, s.live().fdinfo()));
                }
            }
        }
        List<FileLockEntry> locks = FileLocksDump.of(held);
        if (!locks.isEmpty()) {
            List<ImageEntry> le = new ArrayList<>();
            locks.forEach(l -> le.add(ImageEntry.of(l)));
            state.sink.set(Magic.FILE_LOCKS, le);
        }
        for (Desc d : state.descs) {
            if (d.entry != null) {
                state.files.add(d.entry);
            }
        }
        state.files.sort(Comparator.comparingLong(f -> Integer.toUnsignedLong(f.getId())));
        List<ImageEntry> fe = new ArrayList<>();
        state.files.forEach(f -> fe.add(ImageEntry.of(f)));
        state.sink.set(Magic.FILES, fe);
        state.sink.set(Magic.INVENTORY, List.of(ImageEntry.of(InventoryEntry.newBuilder().setImgVersion(2)
                .setFdinfoPerId(true).setRootIds(rootIds).setNsPerId(true).setLsmtype(0).build())));
    }

    /**
     * Whether process {@code pid} exec'd a program of its own, rather than being a forked copy of its parent
     * that never exec'd: its executable (/proc/PID/exe) or its command line differs from its parent's. A
     * restore with --exec runs the recorded command only for such a task. Limits: a child that exec'd its
     * parent's program with the same arguments counts as forked (it holds its fds; running it would start
     * the same program again anyway); a forked child that rewrote its command line (setproctitle) counts as
     * exec'd. A parent that is gone or unreadable counts as different.
     */
    private boolean execd(int pid, int ppid, List<byte[]> argv) {
        try {
            if (ppid <= 0 || !proc.link(pid, "exe").equals(proc.link(ppid, "exe"))) {
                return true;
            }
            List<byte[]> parent = proc.nulSeparated(ppid, "cmdline");
            if (parent.size() != argv.size()) {
                return true;
            }
            for (int i = 0; i < argv.size(); i++) {
                if (!java.util.Arrays.equals(parent.get(i), argv.get(i))) {
                    return true;
                }
            }
            return false;
        } catch (DumpException e) {
            return true;
        }
    }

    private TaskKobjIdsEntry ids(Task t, Map<String, Long> nsIds) throws DumpException {
        TaskKobjIdsEntry.Builder b = TaskKobjIdsEntry.newBuilder().setVmId((int) t.vmId).setFilesId((int) t.filesId)
                .setFsId((int) t.fsId).setSighandId((int) t.sighandId);
        String[] kinds = {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time"};
        for (String k : kinds) {
            String link;
            try {
                link = proc.link(t.pid, "ns/" + k);
            } catch (DumpException e) {
                continue; // a namespace kind this kernel does not have
            }
            long id = nsIds.computeIfAbsent(link, x -> (long) nsIds.size() + 1);
            switch (k) {
                case "pid" -> b.setPidNsId((int) id);
                case "net" -> b.setNetNsId((int) id);
                case "ipc" -> b.setIpcNsId((int) id);
                case "uts" -> b.setUtsNsId((int) id);
                case "mnt" -> b.setMntNsId((int) id);
                case "user" -> b.setUserNsId((int) id);
                case "cgroup" -> b.setCgroupNsId((int) id);
                default -> b.setTimeNsId((int) id);
            }
        }
        return b.build();
    }

    private CoreEntry core(Task t) throws DumpException {
        long personality = 0;
        try {
            personality = Long.parseLong(proc.readString(t.pid, "personality").trim(), 16);
        } catch (NumberFormatException e) {
            // keep 0
        }
        String sigblk = proc.status(t.pid, "SigBlk");
        long blk = sigblk == null ? 0 : Long.parseUnsignedLong(sigblk, 16);
        TaskCoreEntry tc = TaskCoreEntry.newBuilder()
                .setTaskState(t.wasStopped ? 3 : 1) // CRIU: 1 alive, 3 stopped
                .setExitCode(0).setPersonality((int) personality).setFlags((int) t.stat.flags())
                .setBlkSigset(blk).setComm(t.stat.comm()).build();
        return CoreEntry.newBuilder().setMtype(1).setTc(tc).build(); // 1: X86_64
    }

    /** A regular-file entry for a task's cwd or root directory (fs-PID.img names them by id). */
    private long dirEntry(Task t, String which) throws DumpException {
        String path = proc.link(t.pid, which);
        int mode = Linux.S_IFDIR | 0755;
        try {
            Object m = Files.getAttribute(proc.dir(t.pid).resolve(which), "unix:mode");
            mode = ((Number) m).intValue();
        } catch (IOException | RuntimeException e) {
            // keep the default
        }
        long id = state.newId();
        state.files.add(ImageSet.dirEntry(id, path, mode));
        return id;
    }
}
