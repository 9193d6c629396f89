package fdrestore.core.dump;

import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The file locks and leases of a dumped tree, as criu's filelocks.img records them (flag 1 POSIX, 2 flock,
 * 4 OFD, 8 lease; type F_RDLCK 0 / F_WRLCK 1; len 0 up to the end of the file), read from each fd's
 * fdinfo {@code lock:} lines (the kernel shows there the locks of that open file description, and the
 * POSIX locks that the fd's process holds on its inode; {@code /proc/locks} has the same lines).
 *
 * <p>Each lock is recorded once, on one fd: a POSIX lock on the first fd of its process on that inode; a
 * flock, OFD lock or lease on the fd of its description in the process that took it (the line's pid),
 * else on the description's first fd (an OFD lock shows pid -1, and a flock taken before a fork by a
 * process outside the tree names no task of it).
 */
final class FileLocksDump {
    static final int FL_POSIX = 1;
    static final int FL_FLOCK = 2;
    static final int FL_OFD = 4;
    static final int FL_LEASE = 8;

    /** One fd of a regular file: its task's pid, its number, its description's id, its fdinfo. */
    record Held(int pid, int fd, long descId, Fdinfo fdinfo) {
    }

    private FileLocksDump() {
    }

    /** The filelocks.img entries of {@code held} (the tree's regular-file fds, in pstree and fd order). */
    static List<FileLockEntry> of(List<Held> held) throws DumpException {
        Map<String, FileLockEntry> out = new LinkedHashMap<>();
        Map<String, List<Held>> byDesc = new LinkedHashMap<>();
        Map<String, String> descLine = new LinkedHashMap<>();
        for (Held h : held) {
            for (String line : h.fdinfo().lines("lock")) {
                String[] f = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
                // "1: POSIX ADVISORY WRITE 2330 fd:01:1234 0 EOF"
                if (f.length < 8) {
                    throw new DumpException("process " + h.pid() + " fd " + h.fd() + ": a lock line fdrestore cannot read: " + line);
                }
                int flag = switch (f[1]) {
                    case "POSIX" -> FL_POSIX;
                    case "FLOCK" -> FL_FLOCK;
                    case "OFDLCK" -> FL_OFD;
                    case "LEASE" -> FL_LEASE;
                    default -> throw new DumpException("process " + h.pid() + " fd " + h.fd() + ": a " + f[1]
                            + " lock, which criu's filelocks.img cannot record: " + line);
                };
                if (flag == FL_LEASE && !f[2].equals("ACTIVE")) {
                    throw new DumpException("process " + h.pid() + " fd " + h.fd() + ": a lease being broken ("
                            + f[2] + "), which a restore cannot take again: " + line);
                }
                int type = switch (f[3]) {
                    case "READ" -> 0;
                    case "WRITE" -> 1;
                    default -> throw new DumpException("process " + h.pid() + " fd " + h.fd() + ": lock type " + f[3]
                            + " cannot be recorded: " + line);
                };
                long start = Long.parseLong(f[6]);
                long len = f[7].equals("EOF") ? 0 : Long.parseLong(f[7]) - start + 1;
                int linePid = Integer.parseInt(f[4]);
                String what = flag + " " + type + " " + f[5] + " " + start + " " + len;
                if (flag == FL_POSIX) {
                    // the process's own lock on this inode: once per process, on its first fd there
                    out.putIfAbsent(h.pid() + " " + what, entry(flag, type, h.pid(), h.fd(), start, len));
                } else {
                    String key = h.descId() + " " + what;
                    byDesc.computeIfAbsent(key, k -> new ArrayList<>()).add(h);
                    descLine.put(key, Integer.toString(linePid));
                }
            }
        }
        for (Map.Entry<String, List<Held>> e : byDesc.entrySet()) {
            String[] w = e.getKey().split(" ");
            int linePid = Integer.parseInt(descLine.get(e.getKey()));
            Held at = e.getValue().stream().filter(h -> h.pid() == linePid).findFirst().orElse(e.getValue().get(0));
            out.put(e.getKey(), entry(Integer.parseInt(w[1]), Integer.parseInt(w[2]), at.pid(), at.fd(),
                    Long.parseLong(w[4]), Long.parseLong(w[5])));
        }
        return new ArrayList<>(out.values());
    }

    private static FileLockEntry entry(int flag, int type, int pid, int fd, long start, long len) {
        return FileLockEntry.newBuilder().setFlag(flag).setType(type).setPid(pid).setFd(fd).setStart(start).setLen(len)
                .build();
    }
}
