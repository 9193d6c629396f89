package fdrestore.core.dump;

import fdrestore.api.spi.DumpException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

/**
 * Reads what the dump needs from {@code /proc}. Every failure becomes a {@link DumpException} that says
 * which process and what happened: gone (it exited), not permitted, or unreadable.
 */
class ProcFs {
    private final Path proc;

    ProcFs(Path proc) {
        this.proc = proc;
    }

    ProcFs() {
        this(Path.of("/proc"));
    }

    Path dir(int pid) {
        return proc.resolve(Integer.toString(pid));
    }

    /** One line of /proc/PID/stat, parsed. */
    record Stat(int pid, String comm, char state, int ppid, int pgid, int sid, int ttyNr, long flags) {
        boolean zombie() {
            return state == 'Z' || state == 'X';
        }

        boolean stopped() {
            return state == 'T' || state == 't';
        }
    }

    /** True if process {@code pid} exists (a /proc/PID directory). */
    boolean exists(int pid) {
        return Files.isDirectory(dir(pid));
    }

    Stat stat(int pid) throws DumpException {
        String s = readString(pid, "stat");
        return parseStat(pid, s);
    }

    static Stat parseStat(int pid, String s) throws DumpException {
        int open = s.indexOf('(');
        int close = s.lastIndexOf(')');
        if (open < 0 || close < open || close + 2 >= s.length()) {
            throw new DumpException("process " + pid + ": cannot parse /proc/" + pid + "/stat: " + s.strip());
        }
        String comm = s.substring(open + 1, close);
        String[] f = s.substring(close + 2).trim().split(" +");
        // f[0] state, f[1] ppid, f[2] pgrp, f[3] session, f[4] tty_nr, f[5] tpgid, f[6] flags
        try {
            return new Stat(pid, comm, f[0].charAt(0), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    Integer.parseInt(f[3]), Integer.parseInt(f[4]), Long.parseLong(f[6]));
        } catch (RuntimeException e) {
            throw new DumpException("process " + pid + ": cannot parse /proc/" + pid + "/stat: " + s.strip(), e);
        }
    }

    /** The children of every thread of {@code pid} (/proc/PID/task/TID/children), ascending. */
    List<Integer> children(int pid) throws DumpException {
        TreeSet<Integer> out = new TreeSet<>();
        for (int tid : threads(pid)) {
            String c;
            try {
                c = Files.readString(dir(pid).resolve("task").resolve(Integer.toString(tid)).resolve("children"));
            } catch (NoSuchFileException e) {
                continue; // the thread ended
            } catch (IOException e) {
                throw translate(pid, "task/" + tid + "/children", e);
            }
            for (String w : c.trim().split("\\s+")) {
                if (!w.isEmpty()) {
                    out.add(Integer.parseInt(w));
                }
            }
        }
        return new ArrayList<>(out);
    }

    /** The thread ids of {@code pid}, ascending. */
    List<Integer> threads(int pid) throws DumpException {
        return numericEntries(pid, "task");
    }

    /** The fd numbers of {@code pid}, ascending. */
    List<Integer> fds(int pid) throws DumpException {
        return numericEntries(pid, "fd");
    }

    private List<Integer> numericEntries(int pid, String sub) throws DumpException {
        List<Integer> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir(pid).resolve(sub))) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (!n.isEmpty() && n.chars().allMatch(Character::isDigit)) {
                    out.add(Integer.parseInt(n));
                }
            }
        } catch (IOException e) {
            throw translate(pid, sub, e);
        }
        Collections.sort(out);
        return out;
    }

    /** The target of /proc/PID/fd/N; null when the fd is gone. */
    String fdLink(int pid, int fd) throws DumpException {
        try {
            return Files.readSymbolicLink(dir(pid).resolve("fd").resolve(Integer.toString(fd))).toString();
        } catch (NoSuchFileException e) {
            if (!exists(pid)) {
                throw gone(pid);
            }
            return null;
        } catch (IOException e) {
            throw translate(pid, "fd/" + fd, e);
        }
    }

    /** The text of /proc/PID/fdinfo/N; null when the fd is gone. */
    String fdinfo(int pid, int fd) throws DumpException {
        try {
            return Files.readString(dir(pid).resolve("fdinfo").resolve(Integer.toString(fd)));
        } catch (NoSuchFileException e) {
            if (!exists(pid)) {
                throw gone(pid);
            }
            return null;
        } catch (IOException e) {
            throw translate(pid, "fdinfo/" + fd, e);
        }
    }

    /** The target of a per-process link (cwd, root, ns/net ...). */
    String link(int pid, String name) throws DumpException {
        try {
            return Files.readSymbolicLink(dir(pid).resolve(name)).toString();
        } catch (IOException e) {
            throw translate(pid, name, e);
        }
    }

    String readString(int pid, String name) throws DumpException {
        return new String(readBytes(pid, name), StandardCharsets.UTF_8);
    }

    byte[] readBytes(int pid, String name) throws DumpException {
        try {
            return Files.readAllBytes(dir(pid).resolve(name));
        } catch (IOException e) {
            throw translate(pid, name, e);
        }
    }

    /** The NUL-separated strings of /proc/PID/cmdline or environ. */
    List<byte[]> nulSeparated(int pid, String name) throws DumpException {
        byte[] b = readBytes(pid, name);
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                byte[] s = new byte[i - start];
                System.arraycopy(b, start, s, 0, s.length);
                out.add(s);
                start = i + 1;
            }
        }
        if (start < b.length) {
            byte[] s = new byte[b.length - start];
            System.arraycopy(b, start, s, 0, s.length);
            out.add(s);
        }
        return out;
    }

    /** The value of a "Key:\tvalue" line of /proc/PID/status, or null. */
    String status(int pid, String key) throws DumpException {
        for (String l : readString(pid, "status").split("\n")) {
            if (l.startsWith(key + ":")) {
                return l.substring(key.length() + 1).trim();
            }
        }
        return null;
    }

    DumpException translate(int pid, String what, IOException e) {
        if (e instanceof NoSuchFileException && !exists(pid)) {
            return gone(pid);
        }
        if (e instanceof AccessDeniedException) {
            return notPermitted(pid, "/proc/" + pid + "/" + what);
        }
        return new DumpException("process " + pid + ": cannot read /proc/" + pid + "/" + what + ": " + e, e);
    }

    static DumpException gone(int pid) {
        return new DumpException("process " + pid + " exited during the dump (nothing was written; "
                + "--freeze stops the tree while it is dumped)");
    }

    static DumpException notPermitted(int pid, String what) {
        return new DumpException("not permitted to dump process " + pid + " (" + what + "): dumping needs ptrace "
                + "access to every process of the tree (run as root, or as its owner without a Yama restriction)");
    }
}
