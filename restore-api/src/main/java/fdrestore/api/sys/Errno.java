package fdrestore.api.sys;

/** Errno values of x86-64 Linux that fdrestore names, and their symbolic descriptions. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int EROFS = 30;
    public static final int EPIPE = 32;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int ELOOP = 40;
    public static final int ENOTSOCK = 88;
    public static final int EMSGSIZE = 90;
    public static final int EOPNOTSUPP = 95;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ECONNREFUSED = 111;
    public static final int EXDEV = 18;
    public static final int ETXTBSY = 26;
    public static final int ECHILD = 10;
    public static final int E2BIG = 7;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOTEMPTY = 39;
    public static final int EWOULDBLOCK = EAGAIN;
    public static final int EPROTONOSUPPORT = 93;
    public static final int EAFNOSUPPORT = 97;
    public static final int ECONNRESET = 104;
    public static final int EISCONN = 106;
    public static final int ENOTCONN = 107;
    public static final int EALREADY = 114;
    public static final int EINPROGRESS = 115;

    private Errno() {
    }

    /** "ENOENT (No such file or directory)" for known values, "errno 123" otherwise. */
    public static String describe(int errno) {
        String name = name(errno);
        String text = text(errno);
        if (name == null) {
            return "errno " + errno;
        }
        return text == null ? name : name + " (" + text + ")";
    }

    /** The symbolic name, or null when fdrestore does not know it. */
    public static String name(int errno) {
        switch (errno) {
            case EPERM: return "EPERM";
            case ENOENT: return "ENOENT";
            case ESRCH: return "ESRCH";
            case EINTR: return "EINTR";
            case EIO: return "EIO";
            case ENXIO: return "ENXIO";
            case EBADF: return "EBADF";
            case EAGAIN: return "EAGAIN";
            case ENOMEM: return "ENOMEM";
            case EACCES: return "EACCES";
            case EFAULT: return "EFAULT";
            case EBUSY: return "EBUSY";
            case EEXIST: return "EEXIST";
            case EXDEV: return "EXDEV";
            case ENOTDIR: return "ENOTDIR";
            case EISDIR: return "EISDIR";
            case EINVAL: return "EINVAL";
            case ENFILE: return "ENFILE";
            case EMFILE: return "EMFILE";
            case ENOTTY: return "ENOTTY";
            case ETXTBSY: return "ETXTBSY";
            case ENOSPC: return "ENOSPC";
            case ESPIPE: return "ESPIPE";
            case EROFS: return "EROFS";
            case EPIPE: return "EPIPE";
            case ERANGE: return "ERANGE";
            case ENOSYS: return "ENOSYS";
            case ELOOP: return "ELOOP";
            case ENOTSOCK: return "ENOTSOCK";
            case EMSGSIZE: return "EMSGSIZE";
            case EOPNOTSUPP: return "EOPNOTSUPP";
            case EADDRINUSE: return "EADDRINUSE";
            case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
            case ECONNREFUSED: return "ECONNREFUSED";
            case ECHILD: return "ECHILD";
            case E2BIG: return "E2BIG";
            case ENAMETOOLONG: return "ENAMETOOLONG";
            case ENOTEMPTY: return "ENOTEMPTY";
            case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
            case EAFNOSUPPORT: return "EAFNOSUPPORT";
            case ECONNRESET: return "ECONNRESET";
            case EISCONN: return "EISCONN";
            case ENOTCONN: return "ENOTCONN";
            case EALREADY: return "EALREADY";
            case EINPROGRESS: return "EINPROGRESS";
            default: return null;
        }
    }

    private static String text(int errno) {
        switch (errno) {
            case EPERM: return "Operation not permitted";
            case ENOENT: return "No such file or directory";
            case ESRCH: return "No such process";
            case EBADF: return "Bad file descriptor";
            case EAGAIN: return "Resource temporarily unavailable";
            case EACCES: return "Permission denied";
            case EBUSY: return "Device or resource busy";
            case EEXIST: return "File exists";
            case ENOTDIR: return "Not a directory";
            case EISDIR: return "Is a directory";
            case EINVAL: return "Invalid argument";
            case EMFILE: return "Too many open files";
            case ENOTTY: return "Inappropriate ioctl for device";
            case ENOSPC: return "No space left on device";
            case ELOOP: return "Too many levels of symbolic links";
            case ENOSYS: return "Function not implemented";
            case EADDRINUSE: return "Address already in use";
            case ECONNREFUSED: return "Connection refused";
            case EXDEV: return "Invalid cross-device link";
            case ECHILD: return "No child processes";
            case ENAMETOOLONG: return "File name too long";
            case EINPROGRESS: return "Operation now in progress";
            case ENOTSOCK: return "Socket operation on non-socket";
            case EMSGSIZE: return "Message too long";
            case ENOTCONN: return "Transport endpoint is not connected";
            case ENFILE: return "Too many open files in system";
            case EPIPE: return "Broken pipe";
            case ENOMEM: return "Cannot allocate memory";
            case ENXIO: return "No such device or address";
            case EOPNOTSUPP: return "Operation not supported";
            default: return null;
        }
    }
}
