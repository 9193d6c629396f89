package fdrestore.api.sys;

/**
 * The raw binding to glibc ({@link DirectLibC}, got from {@link Native#libc()}). Public for the task
 * runtime of core; elsewhere use {@link Sys} (checked) instead.
 *
 * <p>Every pointer argument is a raw native address ({@code long}) of memory the caller owns, so that a
 * call marshals nothing but primitives: this is what lets executor threads call these stubs without
 * allocating, converting strings or loading classes. Every function saves errno (read it with
 * {@link Native#errno()} right after a failing call, on the same thread). Functions that return the
 * error number instead of setting errno (posix_spawn*) say so.
 */
public interface LibC {
    int open(long path, int flags, int mode);

    int openat(int dirfd, long path, int flags, int mode);

    int close(int fd);

    int dup(int fd);

    int dup3(int oldfd, int newfd, int flags);

    int fcntl(int fd, int cmd, long arg);

    int ioctl(int fd, long request, long arg);

    long lseek(int fd, long offset, int whence);

    long read(int fd, long buf, long count);

    long write(int fd, long buf, long count);

    int pipe2(long fds, int flags);

    int socket(int domain, int type, int protocol);

    int socketpair(int domain, int type, int protocol, long sv);

    int bind(int fd, long addr, int addrlen);

    int listen(int fd, int backlog);

    int connect(int fd, long addr, int addrlen);

    int setsockopt(int fd, int level, int name, long value, int len);

    int getsockopt(int fd, int level, int name, long value, long lenPtr);

    long sendmsg(int fd, long msghdr, int flags);

    long recvmsg(int fd, long msghdr, int flags);

    int fstat(int fd, long statbuf);

    /** tee(2): duplicates up to {@code len} bytes from pipe {@code fdIn} into pipe {@code fdOut}. */
    long tee(int fdIn, int fdOut, long len, int flags);

    int unshare(int flags);

    int getpid();

    int getrlimit(int resource, long rlimit);

    int setrlimit(int resource, long rlimit);

    int prlimit(int pid, int resource, long newLimit, long oldLimit);

    int waitpid(int pid, long status, int options);

    int kill(int pid, int sig);

    long syscall(long number);

    long syscall(long number, long a1);

    long syscall(long number, long a1, long a2);

    long syscall(long number, long a1, long a2, long a3);

    long syscall(long number, long a1, long a2, long a3, long a4);

    long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    /** Returns 0 or an error number (errno is not set). */
    int posix_spawn(long pidOut, long path, long fileActions, long attr, long argv, long envp);

    int posix_spawnattr_init(long attr);

    int posix_spawnattr_setflags(long attr, short flags);

    int posix_spawnattr_setpgroup(long attr, int pgroup);

    int posix_spawnattr_setsigmask(long attr, long sigset);

    int posix_spawnattr_setsigdefault(long attr, long sigset);

    int posix_spawnattr_destroy(long attr);

    int posix_spawn_file_actions_init(long fileActions);

    int posix_spawn_file_actions_adddup2(long fileActions, int fd, int newfd);

    int posix_spawn_file_actions_addclose(long fileActions, int fd);

    int posix_spawn_file_actions_addopen(long fileActions, int fd, long path, int oflag, int mode);

    int posix_spawn_file_actions_addchdir_np(long fileActions, long path);

    int posix_spawn_file_actions_destroy(long fileActions);
}
