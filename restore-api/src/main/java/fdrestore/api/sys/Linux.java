package fdrestore.api.sys;

/**
 * Every kernel and glibc number fdrestore uses, for x86-64 Linux with glibc. Field names are the C
 * macro names (syscall numbers are {@code SYS_<NAME>} for C's {@code SYS_<name>}; struct layouts are
 * {@code <STRUCT>_SIZE} and {@code <STRUCT>_OFF_<FIELD>}). {@code LinuxConstantsTest} compiles a C program
 * against /usr/include and compares every field.
 */
public final class Linux {
    private Linux() {
    }

    // ---- syscall numbers (x86-64)
    public static final long SYS_GETTID = 186;
    public static final long SYS_PTRACE = 101;
    public static final long SYS_GETDENTS64 = 217;
    public static final long SYS_MKNODAT = 259;
    public static final long SYS_FCHOWNAT = 260;
    public static final long SYS_FCHMODAT = 268;
    public static final long SYS_KCMP = 312;
    public static final long SYS_PIDFD_OPEN = 434;
    public static final long SYS_CLOSE_RANGE = 436;
    public static final long SYS_OPENAT2 = 437;
    public static final long SYS_GETRANDOM = 318;
    public static final long SYS_PIDFD_GETFD = 438;
    public static final long SYS_SHUTDOWN = 48;
    public static final long SYS_UMASK = 95;
    public static final long SYS_GETEUID = 107;
    public static final long SYS_ACCEPT4 = 288;
    public static final long SYS_GETSOCKNAME = 51;
    public static final long SYS_GETPEERNAME = 52;
    public static final long SYS_EPOLL_CTL = 233;
    public static final long SYS_TIMERFD_CREATE = 283;
    public static final long SYS_TIMERFD_SETTIME = 286;
    public static final long SYS_TIMERFD_GETTIME = 287;
    public static final long SYS_EVENTFD2 = 290;
    public static final long SYS_EPOLL_CREATE1 = 291;

    // ---- open(2) flags (octal as in the headers)
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 01;
    public static final int O_RDWR = 02;
    public static final int O_ACCMODE = 03;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_ASYNC = 020000;
    public static final int O_DIRECT = 040000;
    /** The kernel's value (glibc's O_LARGEFILE is 0 on 64-bit; fdinfo and CRIU images show this bit). */
    public static final int O_LARGEFILE = 0100000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_SYNC = 04010000;
    public static final int O_PATH = 010000000;
    public static final int O_TMPFILE = 020200000;
    /** The most bytes a pipe write keeps together (and a pipe always has room for, when empty). */
    public static final int PIPE_BUF = 4096;
    /** The file status flags F_SETFL can change (fs/fcntl.c SETFL_MASK, with O_ASYNC, which it handles too). */
    public static final int SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC;
    /**
     * The open flags every restore refuses ({@link #refuseCreate}): it never creates or truncates a
     * file. O_CREAT, O_TRUNC, and O_TMPFILE's own bit (O_TMPFILE is that bit with O_DIRECTORY).
     */
    public static final int OPEN_REFUSED = O_CREAT | O_TRUNC | 020000000;

    /**
     * The one rule of every open a restore makes, in the task tables, the testkit's fake and {@code Sys}:
     * flags with any of {@link #OPEN_REFUSED} are refused with IllegalArgumentException naming {@code call}
     * (open, openat, openat2), the path and the flags. The text is built only then.
     */
    public static void refuseCreate(String call, String path, int flags) {
        if ((flags & OPEN_REFUSED) != 0) {
            throw new IllegalArgumentException(call + "(" + Native.quote(path) + ", " + openFlags(flags)
                    + "): O_CREAT, O_TRUNC and O_TMPFILE are refused (a restore never creates or truncates files)");
        }
    }
    public static final int AT_FDCWD = -100;

    // ---- openat2 resolve flags and struct open_how
    public static final long RESOLVE_NO_XDEV = 0x01;
    public static final long RESOLVE_NO_MAGICLINKS = 0x02;
    public static final long RESOLVE_NO_SYMLINKS = 0x04;
    public static final long RESOLVE_BENEATH = 0x08;
    public static final long RESOLVE_IN_ROOT = 0x10;
    public static final long RESOLVE_CACHED = 0x20;
    public static final int OPEN_HOW_SIZE = 24;

    // ---- fcntl
    public static final int F_DUPFD = 0;
    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_SETOWN = 8;
    public static final int F_GETOWN = 9;
    public static final int F_SETSIG = 10;
    public static final int F_GETSIG = 11;
    public static final int F_SETOWN_EX = 15;
    public static final int F_GETOWN_EX = 16;
    public static final int F_SETLEASE = 1024;
    public static final int F_GETLEASE = 1025;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int F_SETPIPE_SZ = 1031;
    public static final int F_GETPIPE_SZ = 1032;
    public static final int FD_CLOEXEC = 1;

    // ---- lseek
    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;

    // ---- ioctl requests
    public static final long FIONREAD = 0x541B;
    public static final long FIONBIO = 0x5421;
    public static final long FIOCLEX = 0x5451;
    public static final long TIOCSCTTY = 0x540E;
    public static final long TIOCGPGRP = 0x540F;
    public static final long TIOCSPGRP = 0x5410;
    public static final long TIOCGWINSZ = 0x5413;
    public static final long TIOCSWINSZ = 0x5414;
    public static final long TIOCPKT = 0x5420;
    public static final long TCGETS = 0x5401;
    public static final long TCSETS = 0x5402;
    public static final long TIOCEXCL = 0x540C;
    public static final long TIOCSTI = 0x5412;
    public static final long TIOCGLCKTRMIOS = 0x5456;
    public static final long TIOCSLCKTRMIOS = 0x5457;
    public static final long TIOCGPKT = 0x80045438L;
    public static final long TIOCGPTLCK = 0x80045439L;
    public static final long TIOCGEXCL = 0x80045440L;
    public static final long TIOCGPTN = 0x80045430L;
    public static final long TIOCSPTLCK = 0x40045431L;
    public static final long TIOCGPTPEER = 0x5441;
    public static final long TFD_IOC_SET_TICKS = 0x40085400L;

    // ---- sockets
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int NETLINK_SOCK_DIAG = 4;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_TYPE = 3;
    public static final int SO_ERROR = 4;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_PASSCRED = 16;
    public static final int SO_PEERCRED = 17;
    public static final int SCM_RIGHTS = 1;
    public static final int SCM_CREDENTIALS = 2;
    public static final int SCM_MAX_FD = 253;
    public static final int MSG_PEEK = 0x02;
    public static final int MSG_CTRUNC = 0x08;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    // ---- struct layouts (x86-64)
    public static final int MSGHDR_SIZE = 56;
    public static final int MSGHDR_OFF_MSG_NAME = 0;
    public static final int MSGHDR_OFF_MSG_NAMELEN = 8;
    public static final int MSGHDR_OFF_MSG_IOV = 16;
    public static final int MSGHDR_OFF_MSG_IOVLEN = 24;
    public static final int MSGHDR_OFF_MSG_CONTROL = 32;
    public static final int MSGHDR_OFF_MSG_CONTROLLEN = 40;
    public static final int MSGHDR_OFF_MSG_FLAGS = 48;
    public static final int IOVEC_SIZE = 16;
    public static final int CMSGHDR_SIZE = 16;
    public static final int CMSGHDR_OFF_CMSG_LEN = 0;
    public static final int CMSGHDR_OFF_CMSG_LEVEL = 8;
    public static final int CMSGHDR_OFF_CMSG_TYPE = 12;
    public static final int UCRED_SIZE = 12;
    public static final int STAT_SIZE = 144;
    public static final int STAT_OFF_ST_DEV = 0;
    public static final int STAT_OFF_ST_INO = 8;
    public static final int STAT_OFF_ST_NLINK = 16;
    public static final int STAT_OFF_ST_MODE = 24;
    public static final int STAT_OFF_ST_UID = 28;
    public static final int STAT_OFF_ST_GID = 32;
    public static final int STAT_OFF_ST_RDEV = 40;
    public static final int STAT_OFF_ST_SIZE = 48;
    public static final int DIRENT64_OFF_D_RECLEN = 16;
    public static final int DIRENT64_OFF_D_TYPE = 18;
    public static final int DIRENT64_OFF_D_NAME = 19;
    public static final int SOCKADDR_UN_SIZE = 110;
    public static final int POSIX_SPAWNATTR_T_SIZE = 336;
    public static final int POSIX_SPAWN_FILE_ACTIONS_T_SIZE = 80;
    public static final int SIGSET_T_SIZE = 128;

    /** CMSG_ALIGN. */
    public static int cmsgAlign(int len) {
        return (len + 7) & ~7;
    }

    /** CMSG_SPACE. */
    public static int cmsgSpace(int dataLen) {
        return CMSGHDR_SIZE + cmsgAlign(dataLen);
    }

    /** CMSG_LEN. */
    public static int cmsgLen(int dataLen) {
        return CMSGHDR_SIZE + dataLen;
    }

    // ---- processes, namespaces, limits
    public static final int CLONE_FILES = 0x400;
    public static final int CLONE_FS = 0x200;
    public static final int KCMP_FILE = 0;
    public static final int KCMP_VM = 1;
    public static final int KCMP_FILES = 2;
    public static final int KCMP_FS = 3;
    public static final int KCMP_SIGHAND = 4;
    public static final int KCMP_IO = 5;
    public static final int KCMP_SYSVSEM = 6;
    public static final int KCMP_EPOLL_TFD = 7;
    public static final int CLOSE_RANGE_UNSHARE = 2;
    public static final int CLOSE_RANGE_CLOEXEC = 4;
    public static final int RLIMIT_NOFILE = 7;
    public static final long RLIM_INFINITY = -1L;
    public static final short POSIX_SPAWN_RESETIDS = 0x01;
    public static final short POSIX_SPAWN_SETPGROUP = 0x02;
    public static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    public static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    public static final short POSIX_SPAWN_SETSID = 0x80;
    public static final int WNOHANG = 1;
    public static final int SIGHUP = 1;
    public static final int SIGINT = 2;
    public static final int SIGQUIT = 3;
    public static final int SIGKILL = 9;
    public static final int SIGPIPE = 13;
    public static final int SIGTERM = 15;
    public static final int SIGCHLD = 17;
    public static final int SIGSTOP = 19;

    // ---- file types
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 060000;
    public static final int S_IFDIR = 040000;
    public static final int S_IFCHR = 020000;
    public static final int S_IFIFO = 010000;

    private static final int[] OPEN_FLAG_VALUES = {
        O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_DIRECT, O_LARGEFILE,
        O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH, 020000000 /* __O_TMPFILE */};
    private static final String[] OPEN_FLAG_NAMES = {
        "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_ASYNC",
        "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH",
        "__O_TMPFILE"};

    /** "O_RDONLY|O_CLOEXEC": symbolic open(2) flags, with any unknown bits in octal. */
    public static String openFlags(int flags) {
        StringBuilder sb = new StringBuilder();
        switch (flags & O_ACCMODE) {
            case O_RDONLY: sb.append("O_RDONLY"); break;
            case O_WRONLY: sb.append("O_WRONLY"); break;
            case O_RDWR: sb.append("O_RDWR"); break;
            default: sb.append("O_ACCMODE"); break;
        }
        int rest = flags & ~O_ACCMODE;
        if ((rest & O_SYNC) == O_SYNC) {
            sb.append("|O_SYNC");
            rest &= ~O_SYNC;
        }
        for (int i = 0; i < OPEN_FLAG_VALUES.length; i++) {
            if ((rest & OPEN_FLAG_VALUES[i]) != 0) {
                sb.append('|').append(OPEN_FLAG_NAMES[i]);
                rest &= ~OPEN_FLAG_VALUES[i];
            }
        }
        if (rest != 0) {
            sb.append("|0").append(Integer.toOctalString(rest));
        }
        return sb.toString();
    }

    /** "F_DUPFD_CLOEXEC" for known fcntl commands, the number otherwise. */
    public static String fcntlCmd(int cmd) {
        switch (cmd) {
            case F_DUPFD: return "F_DUPFD";
            case F_GETFD: return "F_GETFD";
            case F_SETFD: return "F_SETFD";
            case F_GETFL: return "F_GETFL";
            case F_SETFL: return "F_SETFL";
            case F_SETOWN: return "F_SETOWN";
            case F_GETOWN: return "F_GETOWN";
            case F_SETSIG: return "F_SETSIG";
            case F_GETSIG: return "F_GETSIG";
            case F_SETOWN_EX: return "F_SETOWN_EX";
            case F_GETOWN_EX: return "F_GETOWN_EX";
            case F_SETLEASE: return "F_SETLEASE";
            case F_GETLEASE: return "F_GETLEASE";
            case F_DUPFD_CLOEXEC: return "F_DUPFD_CLOEXEC";
            case F_SETPIPE_SZ: return "F_SETPIPE_SZ";
            case F_GETPIPE_SZ: return "F_GETPIPE_SZ";
            default: return Integer.toString(cmd);
        }
    }

    /** The ioctl request in hex, with its name when fdrestore knows it. */
    public static String ioctlRequest(long req) {
        String name;
        if (req == FIONREAD) {
            name = "FIONREAD";
        } else if (req == FIONBIO) {
            name = "FIONBIO";
        } else if (req == FIOCLEX) {
            name = "FIOCLEX";
        } else if (req == TIOCSCTTY) {
            name = "TIOCSCTTY";
        } else if (req == TIOCGPGRP) {
            name = "TIOCGPGRP";
        } else if (req == TIOCSPGRP) {
            name = "TIOCSPGRP";
        } else if (req == TIOCGWINSZ) {
            name = "TIOCGWINSZ";
        } else if (req == TIOCSWINSZ) {
            name = "TIOCSWINSZ";
        } else if (req == TIOCPKT) {
            name = "TIOCPKT";
        } else if (req == TIOCGPTN) {
            name = "TIOCGPTN";
        } else if (req == TIOCSPTLCK) {
            name = "TIOCSPTLCK";
        } else if (req == TIOCGPTPEER) {
            name = "TIOCGPTPEER";
        } else if (req == TFD_IOC_SET_TICKS) {
            name = "TFD_IOC_SET_TICKS";
        } else if (req == TCGETS) {
            name = "TCGETS";
        } else if (req == TCSETS) {
            name = "TCSETS";
        } else if (req == TIOCEXCL) {
            name = "TIOCEXCL";
        } else if (req == TIOCSTI) {
            name = "TIOCSTI";
        } else if (req == TIOCGLCKTRMIOS) {
            name = "TIOCGLCKTRMIOS";
        } else if (req == TIOCSLCKTRMIOS) {
            name = "TIOCSLCKTRMIOS";
        } else if (req == TIOCGPKT) {
            name = "TIOCGPKT";
        } else if (req == TIOCGPTLCK) {
            name = "TIOCGPTLCK";
        } else if (req == TIOCGEXCL) {
            name = "TIOCGEXCL";
        } else {
            return "0x" + Long.toHexString(req);
        }
        return name;
    }
}
