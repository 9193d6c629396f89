package fdrestore.plugin.tty;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.FakeKernel;
import fdrestore.testkit.FakeTaskTable;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A pretend devpts for unit tests, over the testkit's fake kernel: opening {@code /dev/ptmx} in a table
 * allocates the lowest free index (TIOCGPTN answers it), closing the last fd of that master frees it, a
 * new pty starts locked, TIOCSPTLCK locks and unlocks, and {@code /dev/pts/N} opens only while pty N exists
 * and is unlocked (EIO otherwise, as the kernel). Every pty event goes to one ordered log. Tables are
 * {@link FakeTaskTable}s seen through a proxy that adds this behaviour, so the engine and the fake
 * transport work on them unchanged.
 */
final class FakeDevpts {
    private final FakeKernel kernel;
    private final TreeSet<Integer> taken = new TreeSet<>();
    private final Map<FakeKernel.FakeFile, Integer> masters = new HashMap<>();
    private final Map<Integer, Boolean> locked = new HashMap<>();
    private final List<String> events = new ArrayList<>();
    private final Map<Integer, FakeTaskTable> fakes = new java.util.concurrent.ConcurrentHashMap<>();
    private Runnable onPtmxOpen = () -> { };

    FakeDevpts(FakeKernel kernel) {
        this.kernel = kernel;
    }

    /** Marks {@code index} as held by someone outside the restore. */
    synchronized FakeDevpts takenByOthers(int... indices) {
        for (int i : indices) {
            taken.add(i);
            locked.put(i, false);
        }
        return this;
    }

    /** Runs before every open of /dev/ptmx (to check the plugin-wide lock is held). */
    synchronized void onPtmxOpen(Runnable r) {
        onPtmxOpen = r;
    }

    synchronized List<String> events() {
        return List.copyOf(events);
    }

    synchronized boolean isTaken(int index) {
        return taken.contains(index);
    }

    synchronized List<Integer> takenIndices() {
        return new ArrayList<>(taken);
    }

    synchronized boolean isLocked(int index) {
        return Boolean.TRUE.equals(locked.get(index));
    }

    /**
     * The fake kernel's transport, seeing through this class's table proxies (it works on the
     * {@link FakeTaskTable}s behind them).
     */
    fdrestore.api.spi.Transport transport() {
        fdrestore.api.spi.Transport real = kernel.transport();
        InvocationHandler h = (proxy, m, args) -> {
            Object[] a = args == null ? null : args.clone();
            if (a != null) {
                for (int i = 0; i < a.length; i++) {
                    if (a[i] instanceof TaskTable t && !(t instanceof FakeTaskTable)) {
                        a[i] = fakes.get(t.pid());
                    }
                }
            }
            try {
                return m.invoke(real, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (fdrestore.api.spi.Transport) Proxy.newProxyInstance(fdrestore.api.spi.Transport.class.getClassLoader(),
                new Class<?>[] {fdrestore.api.spi.Transport.class}, h);
    }

    FakeTaskTable fake(int pid) {
        return fakes.get(pid);
    }

    /** A table for task {@code pid}: the fake kernel's, with /dev/ptmx and /dev/pts behaviour. */
    TaskTable table(int pid, int floor) {
        FakeTaskTable fake = kernel.table(pid, floor);
        fakes.put(pid, fake);
        InvocationHandler h = (proxy, m, args) -> {
            Object special = intercept(fake, m.getName(), args);
            if (special != NOT_HANDLED) {
                return special;
            }
            try {
                return m.invoke(fake, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (TaskTable) Proxy.newProxyInstance(TaskTable.class.getClassLoader(), new Class<?>[] {TaskTable.class}, h);
    }

    private static final Object NOT_HANDLED = new Object();

    private synchronized Object intercept(FakeTaskTable t, String name, Object[] args) throws SysException {
        switch (name) {
            case "open": {
                String path = (String) args[0];
                int flags = (Integer) args[1];
                if (path.equals("/dev/ptmx")) {
                    onPtmxOpen.run();
                    int fd = t.open(path, flags, 0);
                    int index = 0;
                    while (taken.contains(index)) {
                        index++;
                    }
                    taken.add(index);
                    locked.put(index, true);
                    masters.put(t.file(fd), index);
                    events.add("ptmx " + index + " opened in task " + t.pid());
                    return fd;
                }
                if (path.startsWith("/dev/pts/")) {
                    int index = Integer.parseInt(path.substring("/dev/pts/".length()));
                    if (!taken.contains(index)) {
                        throw new SysException("open(" + path + ")", Errno.ENOENT);
                    }
                    if (isLocked(index)) {
                        events.add("slave " + index + " open refused: locked");
                        throw new SysException("open(" + path + ")", Errno.EIO);
                    }
                    int fd = t.open(path, flags, 0);
                    events.add("slave " + index + " opened in task " + t.pid() + ((flags & 0400) != 0 ? " O_NOCTTY" : ""));
                    return fd;
                }
                return NOT_HANDLED;
            }
            case "close": {
                int fd = (Integer) args[0];
                FakeKernel.FakeFile f = t.file(fd);
                t.close(fd);
                Integer index = f == null ? null : masters.get(f);
                if (index != null && !heldAnywhere(f)) {
                    masters.remove(f);
                    taken.remove(index);
                    locked.remove(index);
                    events.add("ptmx " + index + " closed");
                }
                return null;
            }
            case "ioctl": {
                int fd = (Integer) args[0];
                long req = (Long) args[1];
                FakeKernel.FakeFile f = t.file(fd);
                Integer index = f == null ? null : masters.get(f);
                if (args[2] instanceof byte[] buf) {
                    t.ioctl(fd, req, buf);
                    if (req == Tty.TIOCGPTN) {
                        if (index == null) {
                            throw new SysException("ioctl(" + fd + ", TIOCGPTN)", Errno.ENOTTY);
                        }
                        System.arraycopy(Tty.intArg(index), 0, buf, 0, 4);
                    } else if (req == Tty.TIOCSPTLCK && index != null) {
                        boolean lock = Tty.intOf(buf) != 0;
                        locked.put(index, lock);
                        events.add((lock ? "lock " : "unlock ") + index);
                    } else if (req == Tty.TCSETS) {
                        events.add("TCSETS " + Termios.decode(buf));
                    } else if (req == Tty.TIOCSTI) {
                        events.add("TIOCSTI " + (char) buf[0]);
                    }
                    return 0;
                }
                return NOT_HANDLED;
            }
            case "write": {
                int fd = (Integer) args[0];
                byte[] data = (byte[]) args[1];
                int off = (Integer) args[2];
                int len = (Integer) args[3];
                events.add("write " + t.file(fd).what() + " " + new String(data, off, len));
                return t.write(fd, data, off, len);
            }
            case "fstat": {
                int fd = (Integer) args[0];
                FakeKernel.FakeFile f = t.file(fd);
                if (f != null && f.what().startsWith("/dev/pts/")) {
                    t.fstat(fd);
                    int index = Integer.parseInt(f.what().substring("/dev/pts/".length()));
                    long rdev = ((136L + index / 256) << 8) | (index % 256);
                    return new TaskTable.Stat(0020620, 0, 6, 3 + index, rdev);
                }
                return NOT_HANDLED;
            }
            default:
                return NOT_HANDLED;
        }
    }

    private boolean heldAnywhere(FakeKernel.FakeFile f) {
        for (FakeTaskTable t : fakes.values()) {
            for (int fd : t.openFds()) {
                if (t.file(fd) == f) {
                    return true;
                }
            }
        }
        return false;
    }
}
