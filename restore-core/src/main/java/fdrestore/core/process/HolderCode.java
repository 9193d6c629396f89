package fdrestore.core.process;

import fdrestore.api.sys.Errno;

/**
 * The numbers a holder answers with on its pipes (see the table at the top of src/main/c/fdrestore-holder.c,
 * which mirrors this enum entry for entry; {@code HolderCodeTest} checks that the two agree): the step of an
 * {@code "E <pid> <step> <errno>"} line, and the status of a {@code "D <status>"} line that is not 0.
 */
public enum HolderCode {
    SETSID('E', 1, "setsid/setpgid"),
    PIDFD_OPEN('E', 2, "pidfd_open(PIDFD_THREAD)"),
    PIDFD_GETFD('E', 3, "pidfd_getfd"),
    CLEAR_CLOEXEC('E', 4, "placing an fd"),
    MOVE_FD('E', 5, "placing an fd"),
    RECV_FDS('E', 6, "receiving its fds (SCM_RIGHTS)"),
    CWD('E', 7, "entering its recorded cwd under the root"),
    MASKS('E', 8, "setting its umask or signal mask"),
    CGROUP('E', 9, "joining the restore's cgroup"),
    LOCK('E', 10, "taking a file lock or lease (--lock)"),
    PIDFD('E', 11, "opening a pidfd of a task of the tree (--pidfd)"),
    PROC_OPEN('E', 12, "opening a procfs file of a task of the tree (--proc-open)"),
    FOREGROUND('D', 5, "TIOCSPGRP (the foreground group of its tty)"),
    RELEASE_PIDFD('D', 12, "pidfd_open of a task it refers to, at its release"),
    RELEASE_PROC('D', 13, "an open of a procfs file of a task of the tree, at its release");

    private static final HolderCode[] ALL = values();

    /** 'E' for a step of an "E" line, 'D' for a status of a "D" line. */
    public final char line;
    public final int code;
    /** What failed, as an error message says it. */
    public final String what;

    HolderCode(char line, int code, String what) {
        this.line = line;
        this.code = code;
        this.what = what;
    }

    /** The code of an {@code line} reply ('E' or 'D') numbered {@code code}, or null when there is none. */
    public static HolderCode of(char line, int code) {
        for (HolderCode c : ALL) {
            if (c.line == line && c.code == code) {
                return c;
            }
        }
        return null;
    }

    /**
     * A reply line for an error message: {@code "E <pid> <step> <errno>"} as "STEP failed: ERRNO"; any other
     * line as it is.
     */
    public static String describe(String line) {
        String[] p = line.split(" ");
        if (p.length < 4 || !p[0].equals("E")) {
            return line;
        }
        String step;
        int errno;
        try {
            HolderCode c = of('E', Integer.parseInt(p[2]));
            step = c != null ? c.what : "step " + p[2];
            errno = Integer.parseInt(p[3]);
        } catch (NumberFormatException e) {
            return line;
        }
        return step + " failed: " + Errno.describe(errno);
    }
}
