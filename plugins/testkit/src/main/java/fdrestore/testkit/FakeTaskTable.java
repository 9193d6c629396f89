package fdrestore.testkit;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.FakeKernel.FakeFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A fake fd table: it behaves like a task's private table (fd numbers, temporaries above the floor,
 * FD_CLOEXEC, exact ownership: closing an fd that is not open is EBADF) and records every call, but makes
 * no syscall. Faults can be injected per call name.
 */
public final class FakeTaskTable implements TaskTable {

    private final FakeKernel kernel;
    private final int pid;
    private final int tempFloor;
    private final TreeMap<Integer, Slot> fds = new TreeMap<>();
    private final List<String> calls = new ArrayList<>();
    private final List<String> callNames = new ArrayList<>();
    private final Map<String, int[]> faults = new HashMap<>();
    private final Map<String, TaskTable.Stat> stats = new HashMap<>();
    private final List<String> adopted = new ArrayList<>();
    private final Map<String, Long> answers = new HashMap<>();

    private record Slot(FakeFile file, boolean cloexec) {
    }

    FakeTaskTable(FakeKernel kernel, int pid, int tempFloor) {
        this.kernel = kernel;
        this.pid = pid;
        this.tempFloor = tempFloor;
    }

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public int tempFloor() {
        return tempFloor;
    }

    // ---- test controls --------------------------------------------------------------------------

    /** Makes the {@code nth} (1-based) future call named {@code call} (for example "open") fail with {@code errno}. */
    public synchronized FakeTaskTable failOn(String call, int nth, int errno) {
        faults.put(call, new int[] {nth, errno});
        return this;
    }

    /** What fstat answers for files opened at {@code path}. */
    public synchronized FakeTaskTable stat(String path, TaskTable.Stat st) {
        stats.put(path, st);
        return this;
    }

    /**
     * Forgets every fault armed with {@link #failOn} that has not fired yet, and returns their call names
     * (empty when every armed fault fired).
     */
    public synchronized List<String> clearFaults() {
        List<String> left = new ArrayList<>(faults.keySet());
        faults.clear();
        return left;
    }

    /**
     * The name of every call made so far, in order, one per entry of {@link #calls()}: the names
     * {@link #failOn} takes ("open", "pipe", "epoll_ctl" ...).
     */
    public synchronized List<String> callNames() {
        return List.copyOf(callNames);
    }

    /** Every call made so far, as text ("open(/x, 0x0, 0) = 100"). */
    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    /** The open fds, sorted. */
    public synchronized List<Integer> openFds() {
        return new ArrayList<>(fds.keySet());
    }

    /** The description at {@code fd}, or null. */
    public synchronized FakeFile file(int fd) {
        Slot s = fds.get(fd);
        return s == null ? null : s.file;
    }

    /** Whether {@code fd} has FD_CLOEXEC; throws if it is not open. */
    public synchronized boolean cloexec(int fd) {
        Slot s = fds.get(fd);
        if (s == null) {
            throw new IllegalArgumentException("task " + pid + " has no fd " + fd);
        }
        return s.cloexec;
    }

    /** Puts {@code file} at {@code fd} as if the table had inherited it (a test's starting state). */
    public synchronized int inherit(int fd, FakeFile file) {
        fds.put(fd, new Slot(file, false));
        return fd;
    }

    /** A fresh description not installed anywhere. */
    public FakeFile newFile(String what, int flags) {
        return kernel.newFile(what, flags);
    }

    /** Temporaries still open (fds at or above the floor). */
    public synchronized List<Integer> temporaries() {
        return new ArrayList<>(fds.tailMap(tempFloor).keySet());
    }

    // ---- the table --------------------------------------------------------------------------------

    private void check(String call, String text) throws SysException {
        calls.add(text);
        callNames.add(call);
        int[] f = faults.get(call);
        if (f != null && --f[0] == 0) {
            faults.remove(call);
            throw new SysException(text, f[1]);
        }
    }

    private int install(FakeFile file) {
        int fd = tempFloor;
        while (fds.containsKey(fd)) {
            fd++;
        }
        fds.put(fd, new Slot(file, true));
        return fd;
    }

    private Slot slot(String text, int fd) throws SysException {
        Slot s = fds.get(fd);
        if (s == null) {
            throw new SysException(text, Errno.EBADF);
        }
        return s;
    }

    @Override
    public synchronized int open(String path, int flags, int mode) throws SysException {
        Linux.refuseCreate("open", path, flags);
        check("open", "open(" + path + ", 0" + Integer.toOctalString(flags) + ")");
        return install(kernel.newFile(path, flags));
    }

    @Override
    public synchronized int openAt(int dirFd, String path, int flags, int mode) throws SysException {
        Linux.refuseCreate("openat", path, flags);
        check("openat", "openat(" + dirFd + ", " + path + ", 0" + Integer.toOctalString(flags) + ")");
        return install(kernel.newFile(path, flags));
    }

    @Override
    public synchronized int openAt2(int dirFd, String path, int flags, int mode, long resolve) throws SysException {
        Linux.refuseCreate("openat2", path, flags);
        check("openat2", "openat2(" + dirFd + ", " + path + ", 0" + Integer.toOctalString(flags) + ", resolve=0x"
                + Long.toHexString(resolve) + ")");
        return install(kernel.newFile(path, flags));
    }

    @Override
    public synchronized int[] pipe(int flags) throws SysException {
        check("pipe", "pipe2(0" + Integer.toOctalString(flags) + ")");
        FakeFile r = kernel.newFile("pipe r", 0);
        FakeFile w = kernel.newFile("pipe w", 1);
        return new int[] {install(r), install(w)};
    }

    @Override
    public synchronized int socket(int domain, int type, int protocol) throws SysException {
        check("socket", "socket(" + domain + ", " + type + ", " + protocol + ")");
        return install(kernel.newFile("socket " + domain + "/" + type, 2));
    }

    @Override
    public synchronized int[] socketpair(int domain, int type, int protocol) throws SysException {
        check("socketpair", "socketpair(" + domain + ", " + type + ", " + protocol + ")");
        return new int[] {install(kernel.newFile("socketpair a", 2)), install(kernel.newFile("socketpair b", 2))};
    }

    @Override
    public synchronized int dup(int fd) throws SysException {
        String text = "dup(" + fd + ")";
        check("dup", text);
        return install(slot(text, fd).file);
    }

    @Override
    public synchronized void close(int fd) throws SysException {
        String text = "close(" + fd + ")";
        check("close", text);
        slot(text, fd);
        fds.remove(fd);
    }

    @Override
    public synchronized void place(int fd, int target, boolean cloexec) throws SysException {
        String text = "place(" + fd + " -> " + target + (cloexec ? ", O_CLOEXEC" : "") + ")";
        check("place", text);
        Slot s = slot(text, fd);
        if (fds.containsKey(target) && target != fd) {
            throw new SysException(text + ": target already in use", Errno.EBUSY);
        }
        fds.remove(fd);
        fds.put(target, new Slot(s.file, cloexec));
    }

    @Override
    public synchronized void placeAll(int[] src, int[] dst, int[] flags, int count) throws SysException {
        for (int i = 0; i < count; i++) {
            boolean cloexec = (flags[i] & PLACE_CLOEXEC) != 0;
            if ((flags[i] & KEEP_SOURCE) != 0) {
                String text = "dup3(" + src[i] + " -> " + dst[i] + (cloexec ? ", O_CLOEXEC" : "") + ")";
                check("place", text);
                Slot s = slot(text, src[i]);
                if (fds.containsKey(dst[i])) {
                    throw new SysException(text + ": target already in use", Errno.EBUSY);
                }
                fds.put(dst[i], new Slot(s.file, cloexec));
            } else {
                place(src[i], dst[i], cloexec);
            }
        }
    }

    @Override
    public synchronized long lseek(int fd, long offset, int whence) throws SysException {
        String text = "lseek(" + fd + ", " + offset + ", " + whence + ")";
        check("lseek", text);
        slot(text, fd).file.record(text);
        return offset;
    }

    @Override
    public synchronized long fcntl(int fd, int cmd, long arg) throws SysException {
        String text = "fcntl(" + fd + ", " + cmd + ", " + arg + ")";
        check("fcntl", text);
        slot(text, fd).file.record(text);
        return 0;
    }

    @Override
    public synchronized int ioctl(int fd, long request, long arg) throws SysException {
        String text = "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ", " + arg + ")";
        check("ioctl", text);
        slot(text, fd).file.record(text);
        return 0;
    }

    @Override
    public synchronized int ioctl(int fd, long request, byte[] buf) throws SysException {
        String text = "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ", " + buf.length + " bytes)";
        check("ioctl", text);
        slot(text, fd).file.record(text);
        return 0;
    }

    @Override
    public synchronized int write(int fd, byte[] data, int off, int len) throws SysException {
        String text = "write(" + fd + ", " + len + " bytes)";
        check("write", text);
        slot(text, fd).file.record(text + " " + Arrays.toString(Arrays.copyOfRange(data, off, off + Math.min(len, 16))));
        return len;
    }

    @Override
    public synchronized Stat fstat(int fd) throws SysException {
        String text = "fstat(" + fd + ")";
        check("fstat", text);
        FakeFile f = slot(text, fd).file;
        Stat st = stats.get(f.what());
        return st != null ? st : new Stat(0100644, 0, 1, f.hashCode(), 0);
    }

    @Override
    public synchronized void bind(int fd, byte[] sockaddr) throws SysException {
        String text = "bind(" + fd + ", " + sockaddr.length + " bytes)";
        check("bind", text);
        slot(text, fd).file.record(text);
    }

    @Override
    public synchronized void listen(int fd, int backlog) throws SysException {
        String text = "listen(" + fd + ", " + backlog + ")";
        check("listen", text);
        slot(text, fd).file.record(text);
    }

    @Override
    public synchronized int connect(int fd, byte[] sockaddr) throws SysException {
        String text = "connect(" + fd + ", " + sockaddr.length + " bytes)";
        check("connect", text);
        slot(text, fd).file.record(text);
        return 0;
    }

    @Override
    public synchronized void setsockopt(int fd, int level, int name, byte[] value) throws SysException {
        String text = "setsockopt(" + fd + ", " + level + ", " + name + ")";
        check("setsockopt", text);
        slot(text, fd).file.record(text);
    }

    @Override
    public synchronized int read(int fd, byte[] buf, int off, int len) throws SysException {
        String text = "read(" + fd + ", " + len + ")";
        check("read", text);
        slot(text, fd).file.record(text);
        return 0;
    }

    @Override
    public synchronized int getsockopt(int fd, int level, int name, byte[] out) throws SysException {
        String text = "getsockopt(" + fd + ", " + level + ", " + name + ")";
        check("getsockopt", text);
        slot(text, fd).file.record(text);
        return out.length;
    }

    @Override
    public synchronized byte[] getsockname(int fd) throws SysException {
        String text = "getsockname(" + fd + ")";
        check("getsockname", text);
        slot(text, fd).file.record(text);
        return new byte[] {1, 0};
    }

    @Override
    public synchronized byte[] getpeername(int fd) throws SysException {
        String text = "getpeername(" + fd + ")";
        check("getpeername", text);
        slot(text, fd).file.record(text);
        return new byte[] {1, 0};
    }

    @Override
    public synchronized int accept(int fd, int flags) throws SysException {
        String text = "accept4(" + fd + ", " + flags + ")";
        check("accept", text);
        slot(text, fd).file.record(text);
        return install(kernel.newFile("socket accepted", 2));
    }

    @Override
    public synchronized void shutdown(int fd, int how) throws SysException {
        String text = "shutdown(" + fd + ", " + how + ")";
        check("shutdown", text);
        slot(text, fd).file.record(text);
    }

    @Override
    public synchronized int send(int fd, byte[] data, int off, int len, int[] fdList, int fdCount) throws SysException {
        String text = "send(" + fd + ", " + len + " bytes, " + fdCount + " fds)";
        check("send", text);
        slot(text, fd).file.record(text);
        for (int i = 0; i < fdCount; i++) {
            slot(text, fdList[i]);
        }
        return len;
    }

    @Override
    public synchronized int epollCreate(int flags) throws SysException {
        check("epoll_create1", "epoll_create1(" + flags + ")");
        return install(kernel.newFile("anon_inode:[eventpoll]", 2));
    }

    @Override
    public synchronized void epollCtl(int epfd, int op, int fd, int events, long data) throws SysException {
        String text = "epoll_ctl(" + epfd + ", " + op + ", " + fd + ", 0x" + Integer.toHexString(events) + ", 0x"
                + Long.toHexString(data) + ")";
        check("epoll_ctl", text);
        slot(text, fd);
        slot(text, epfd).file.record(text);
    }

    @Override
    public synchronized int timerfdCreate(int clockid, int flags) throws SysException {
        check("timerfd_create", "timerfd_create(" + clockid + ", " + flags + ")");
        return install(kernel.newFile("anon_inode:[timerfd]", 2));
    }

    @Override
    public synchronized void timerfdSettime(int fd, int flags, long valueSec, long valueNsec, long intervalSec,
                                            long intervalNsec) throws SysException {
        String text = "timerfd_settime(" + fd + ", " + flags + ", " + valueSec + "." + valueNsec + ", " + intervalSec
                + "." + intervalNsec + ")";
        check("timerfd_settime", text);
        slot(text, fd).file.record(text);
    }

    @Override
    public synchronized long[] timerfdGettime(int fd) throws SysException {
        String text = "timerfd_gettime(" + fd + ")";
        check("timerfd_gettime", text);
        slot(text, fd).file.record(text);
        return new long[4];
    }

    @Override
    public synchronized int eventfd(int initval, int flags) throws SysException {
        check("eventfd2", "eventfd2(" + Integer.toUnsignedString(initval) + ", " + flags + ")");
        return install(kernel.newFile("anon_inode:[eventfd]", 2));
    }

    /**
     * Adopts a real fd of the test JVM's table: the fake description is named after its
     * {@code /proc/self/fd} link ("anon_inode:[signalfd]"), with its F_GETFL flags; the JVM's fd is left
     * open (the caller's). EBADF when the JVM has no such fd. Recorded as "adopt".
     */
    @Override
    public synchronized int adopt(int jvmFd) throws SysException {
        String link;
        int flags;
        try {
            link = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + jvmFd)).toString();
            flags = (int) fdrestore.api.sys.Sys.fcntl(jvmFd, 3 /* F_GETFL */, 0);
        } catch (java.io.IOException | RuntimeException e) {
            check("adopt", "adopt(JVM fd " + jvmFd + ")");
            throw new SysException("adopt(JVM fd " + jvmFd + ")", Errno.EBADF);
        }
        String text = "adopt(JVM fd " + jvmFd + ": " + link + ")";
        check("adopt", text);
        FakeFile f = kernel.newFile(link, flags);
        f.record(text);
        adopted.add(link);
        return install(f);
    }

    /** What each adopted fd referred to in the JVM ("anon_inode:[signalfd]"), in order. */
    public synchronized List<String> adopted() {
        return List.copyOf(adopted);
    }

    /** What the general call {@code name} answers from now on (0 by default). */
    public synchronized FakeTaskTable answer(String name, long result) {
        answers.put(name, result);
        return this;
    }

    /**
     * A general call: checked and refused as the real table does, recorded under the syscall's name (and on
     * the description of its first argument, when that is an fd of this table); answers 0 or
     * {@link #answer}. Memory arguments are left as they are.
     */
    @Override
    public synchronized long syscall(String name, Object... args) throws SysException {
        fdrestore.api.spi.Syscalls.checkForTaskTable(name, args);
        String text = fdrestore.api.spi.Syscalls.describe(name, args);
        check(name, text);
        if (args.length > 0 && args[0] instanceof Integer fd && fds.containsKey(fd)) {
            fds.get(fd).file.record(text);
        }
        return answers.getOrDefault(name, 0L);
    }

    @Override
    public int sendFds(int sock, byte[] dest, byte[] payload, int payloadLen, int[] fds, int fdCount)
            throws SysException {
        throw new UnsupportedOperationException("the fake table sends through FakeKernel.transport()");
    }

    @Override
    public Received recvFds(int sock, byte[] payload, int[] fdsOut) throws SysException {
        throw new UnsupportedOperationException("the fake table receives through FakeKernel.transport()");
    }

    /** The transport's send: copies references to the descriptions, as SCM_RIGHTS does. */
    synchronized FakeFile[] filesFor(int[] fdList, int count) throws SysException {
        String text = "sendmsg(" + count + " fds)";
        check("sendmsg", text);
        FakeFile[] out = new FakeFile[count];
        for (int i = 0; i < count; i++) {
            out[i] = slot(text, fdList[i]).file;
        }
        return out;
    }

    /** The transport's receive: installs the descriptions as temporaries with O_CLOEXEC. */
    synchronized int[] installReceived(FakeFile[] files) throws SysException {
        check("recvmsg", "recvmsg(" + files.length + " fds)");
        int[] out = new int[files.length];
        for (int i = 0; i < files.length; i++) {
            out[i] = install(files[i]);
        }
        return out;
    }

    /** Records a call made on this table's behalf (the transport's endpoint). */
    synchronized void note(String call, String text) throws SysException {
        check(call, text);
    }

    @Override
    public Batch batch() {
        return new FakeBatch(this);
    }
}
