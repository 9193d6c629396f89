package fdrestore.core.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Rlimit;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.api.sys.WaitStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Integration tests of the executor runtime on real kernel objects. */
class ExecutorTaskTableTest extends OnRealTables {
    /** fd number -> link target of the JVM's own table. */
    private static Map<Integer, String> jvmLinks() throws SysException {
        return Sys.fdTargets();
    }

    /**
     * Asserts that no fd the JVM's table gained since {@code before} refers to one of {@code ours}.
     * Other JVM threads (class loading, cleaners, surefire) open and close fds of their own while a
     * test runs, so the tables are not compared whole; what must never appear is an object the
     * executors made.
     */
    private static void assertNoneOfOursIn(Map<Integer, String> before, Set<String> ours) throws SysException {
        List<String> leaked = new ArrayList<>();
        jvmLinks().forEach((fd, link) -> {
            if (!link.equals(before.get(fd)) && ours.contains(link)) {
                leaked.add(fd + " -> " + link);
            }
        });
        assertEquals(List.of(), leaked, "executor objects in the JVM's table");
    }

    private static long fdFlags(TaskTable t, int fd) throws SysException {
        return t.fcntl(fd, Linux.F_GETFD, 0);
    }

    private static void assertTemp(TaskTable t, int fd) throws SysException {
        assertTrue(fd >= t.tempFloor(), "fd " + fd + " below the floor " + t.tempFloor());
        assertEquals(Linux.FD_CLOEXEC, fdFlags(t, fd), "temporary fd " + fd + " carries FD_CLOEXEC");
    }

    @Test
    void theTableIsPrivate() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(1, FLOOR);
            int pid = Sys.getpid();
            assertNotEquals(0, Sys.kcmp(pid, t.tid(), Linux.KCMP_FILES, 0, 0), "distinct fd tables");
            assertEquals(0, Sys.kcmp(t.tid(), t.tid(), Linux.KCMP_FILES, 0, 0));
            Map<Integer, String> before = jvmLinks();
            int fd = t.open("/dev/null", Linux.O_RDONLY, 0);
            int[] p = t.pipe(0);
            assertNoneOfOursIn(before, Set.of("/dev/null", "pipe:[" + t.fstat(p[0]).ino() + "]"));
            assertFalse(Files.exists(Path.of("/proc/self/fd/" + fd)));
            int[] listed = t.listFds();
            assertTrue(Arrays.binarySearch(listed, fd) >= 0);
            assertTrue(Arrays.binarySearch(listed, p[0]) >= 0);
            assertTrue(Arrays.binarySearch(Sys.listFds(), fd) < 0);
            // the pipe seen from the executor's /proc entry is the same inode fstat reports
            String link = Files.readSymbolicLink(Path.of("/proc/" + pid + "/task/" + t.tid() + "/fd/" + p[0])).toString();
            assertEquals("pipe:[" + t.fstat(p[0]).ino() + "]", link);
            // the table started as a copy of the JVM's: its inherited fds are the JVM's numbers
            int[] inherited = t.inheritedFds();
            assertTrue(inherited.length > 3, Arrays.toString(inherited));
            assertTrue(before.keySet().containsAll(Arrays.stream(inherited).boxed().collect(Collectors.toList())));
        });
    }

    @Test
    void everyCreatedFdLandsAboveTheFloorWithCloexec() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(2, FLOOR);
            List<Integer> fds = new ArrayList<>();
            fds.add(t.open("/dev/null", Linux.O_RDWR, 0));
            fds.add(t.openAt(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0));
            int root = t.open("/", Linux.O_PATH | Linux.O_DIRECTORY, 0);
            fds.add(root);
            fds.add(t.openAt2(root, "/dev/null", Linux.O_RDONLY, 0, Linux.RESOLVE_IN_ROOT));
            for (int fd : t.pipe(Linux.O_NONBLOCK)) {
                fds.add(fd);
            }
            fds.add(t.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0));
            for (int fd : t.socketpair(Linux.AF_UNIX, Linux.SOCK_STREAM, 0)) {
                fds.add(fd);
            }
            fds.add(t.dup(fds.get(0)));
            fds.add((int) t.fcntl(fds.get(0), Linux.F_DUPFD, 0));
            int ptmx = t.open("/dev/ptmx", Linux.O_RDWR | Linux.O_NOCTTY, 0);
            fds.add(ptmx);
            t.ioctl(ptmx, Linux.TIOCSPTLCK, new byte[4]);
            fds.add(t.ioctl(ptmx, Linux.TIOCGPTPEER, Linux.O_RDWR | Linux.O_NOCTTY));
            for (int fd : fds) {
                assertTemp(t, fd);
            }
            assertEquals(fds.size(), new TreeSet<>(fds).size());
            for (int fd : fds) {
                t.close(fd);
            }
            SysException e = assertThrows(SysException.class, () -> t.close(fds.get(0)));
            assertEquals(Errno.EBADF, e.errno());
        });
    }

    @Test
    void placePutsAnFdAtItsExactNumber() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(3, FLOOR);
            int a = t.open("/dev/null", Linux.O_RDONLY, 0);
            int b = t.open("/dev/null", Linux.O_RDONLY, 0);
            long ino = t.fstat(a).ino();
            t.place(a, 200, false);
            t.place(b, 201, true);
            assertEquals(0, fdFlags(t, 200));
            assertEquals(Linux.FD_CLOEXEC, fdFlags(t, 201));
            assertEquals(ino, t.fstat(200).ino());
            assertEquals(Errno.EBADF, assertThrows(SysException.class, () -> t.fcntl(a, Linux.F_GETFD, 0)).errno(),
                    "the temporary fd is closed");
            // a target the restore already uses is refused
            int c = t.open("/dev/null", Linux.O_RDONLY, 0);
            int[] before = t.listFds();
            SysException e = assertThrows(SysException.class, () -> t.place(c, 200, false));
            assertEquals(Errno.EBUSY, e.errno());
            assertArrayEquals(before, t.listFds(), "a refused placement leaves no copy behind, and keeps its source");
            assertTrue(e.getMessage().contains("place(" + c + " -> 200)"), e.getMessage());
            // a JVM fd copied into the table may be overwritten
            int jvm = t.inheritedFds()[t.inheritedFds().length - 1];
            t.place(c, jvm, false);
            assertEquals(t.fstat(200).ino(), t.fstat(jvm).ino());
            assertTrue(Arrays.binarySearch(t.inheritedFds(), jvm) < 0);
            // the JVM's own fd with that number is untouched
            assertTrue(Files.exists(Path.of("/proc/self/fd/" + jvm)));
        });
    }

    @Test
    void placeRaisesTheSoftRlimitOrFailsClearly() {
        within(() -> {
            Rlimit saved = Sys.getrlimit(Linux.RLIMIT_NOFILE);
            try {
                ExecutorTaskTable t = runtime.start(4, FLOOR);
                Sys.setrlimit(Linux.RLIMIT_NOFILE, new Rlimit(2048, saved.hard()));
                int fd = t.open("/dev/null", Linux.O_RDONLY, 0);
                t.place(fd, 3000, true);
                assertEquals(Linux.FD_CLOEXEC, fdFlags(t, 3000));
                Rlimit raised = Sys.getrlimit(Linux.RLIMIT_NOFILE);
                assertTrue(raised.soft() > 3000, raised.toString());
                assertEquals(saved.hard(), raised.hard());
                if (saved.hard() != Linux.RLIM_INFINITY && saved.hard() < Integer.MAX_VALUE) {
                    int fd2 = t.open("/dev/null", Linux.O_RDONLY, 0);
                    int target = (int) saved.hard();
                    SysException e = assertThrows(SysException.class, () -> t.place(fd2, target, false));
                    assertEquals(Errno.EMFILE, e.errno());
                    assertTrue(e.getMessage().contains("place(" + fd2 + " -> " + target + ")"), e.getMessage());
                    assertTrue(e.getMessage().contains("RLIMIT_NOFILE"), e.getMessage());
                    assertTrue(e.getMessage().contains("hard " + saved.hard()), e.getMessage());
                }
            } finally {
                Sys.setrlimit(Linux.RLIMIT_NOFILE, saved);
            }
        });
    }

    @Test
    void batchWithRefs() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(5, FLOOR);
            Path f = Files.createTempFile("fdrestore-batch", ".bin");
            try {
                Files.write(f, new byte[100]);
                Batch b = t.batch();
                Batch.Ref fd = b.open(f.toString(), Linux.O_RDONLY, 0);
                Batch.Ref off = b.lseek(fd, 42, Linux.SEEK_SET);
                Batch.Ref fl = b.fcntl(fd, Linux.F_GETFD, 0);
                Batch.Ref dup = b.fcntl(fd, Linux.F_DUPFD_CLOEXEC, 0);
                b.close(dup);
                b.run();
                assertTemp(t, (int) fd.get());
                assertEquals(42, off.get());
                assertEquals(Linux.FD_CLOEXEC, fl.get());
                assertEquals(42, t.lseek((int) fd.get(), 0, Linux.SEEK_CUR));
                assertTrue(Arrays.binarySearch(t.listFds(), (int) dup.get()) < 0);
                assertThrows(IllegalStateException.class, b::run, "a batch runs once");
                t.close((int) fd.get());
            } finally {
                Files.delete(f);
            }
        });
    }

    @Test
    void aFailedBatchClosesWhatItCreated() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(6, FLOOR);
            int[] before = t.listFds();
            Batch b = t.batch();
            Batch.Ref a = b.open("/dev/null", Linux.O_RDONLY, 0);
            b.fcntl(a, Linux.F_DUPFD, 0);
            b.openAt2(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0, 0);
            b.open("/nonexistent/fdrestore", Linux.O_RDONLY, 0);
            b.open("/dev/null", Linux.O_RDONLY, 0);
            assertEquals(5, b.size());
            assertEquals(-1, b.failedCall(), "not run yet");
            SysException e = assertThrows(SysException.class, b::run);
            assertEquals(3, b.failedCall(), "the fourth call failed");
            assertEquals(Errno.ENOENT, e.errno());
            assertTrue(e.getMessage().contains("batch op #3 of 5: open(\"/nonexistent/fdrestore\", O_RDONLY)"),
                    e.getMessage());
            assertArrayEquals(before, t.listFds(), "nothing left behind");
            assertThrows(IllegalStateException.class, a::get);
        });
    }

    @Test
    void aPipeWithItsDataAndACopyInOneBatch() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(9, FLOOR);
            byte[] data = "queued in one batch".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Batch b = t.batch();
            Batch.Ref[] p = b.pipe(Linux.O_NONBLOCK);
            Batch.Ref wrote = b.write(p[1], data);
            Batch.Ref copy = b.dup(p[0]);
            b.fcntl(p[1], Linux.F_SETFL, 0);
            b.run();
            int r = (int) p[0].get();
            int w = (int) p[1].get();
            int c = (int) copy.get();
            assertTemp(t, r);
            assertTemp(t, w);
            assertTemp(t, c);
            assertEquals(3, new TreeSet<>(List.of(r, w, c)).size(), "three distinct fds");
            assertEquals(data.length, wrote.get());
            assertEquals(0, t.fcntl(w, Linux.F_GETFL, 0) & Linux.O_NONBLOCK, "the write end's flags were set");
            byte[] back = new byte[64];
            int n = t.read(c, back, 0, back.length); // the copy reads what the write end queued
            assertArrayEquals(data, Arrays.copyOf(back, n));
            t.close(r);
            t.close(w);
            t.close(c);
        });
    }

    @Test
    void startAllStartsPrivateTablesInOrder() {
        within(() -> {
            int n = 24;
            int[] pids = new int[n];
            int[] floors = new int[n];
            for (int i = 0; i < n; i++) {
                pids[i] = 300 + i;
                floors[i] = FLOOR + i;
            }
            List<ExecutorTaskTable> ts = runtime.startAll(pids, floors);
            assertEquals(n, ts.size());
            Set<Integer> tids = new TreeSet<>();
            for (int i = 0; i < n; i++) {
                ExecutorTaskTable t = ts.get(i);
                assertEquals(pids[i], t.pid());
                assertEquals(floors[i], t.tempFloor());
                tids.add(t.tid());
                int fd = t.open("/dev/null", Linux.O_RDONLY, 0);
                assertTemp(t, fd);
            }
            assertEquals(n, tids.size(), "one executor thread per table");
            // Private tables: an fd opened in one is not in another, nor in the JVM's.
            int fd0 = ts.get(0).listFds()[ts.get(0).listFds().length - 1];
            assertEquals(FLOOR, fd0, "table 0's temporary is at its floor");
            assertTrue(Arrays.binarySearch(ts.get(1).listFds(), fd0) < 0,
                    "table 1 does not see table 0's temporary " + fd0);
            assertEquals(n, runtime.tables().size());
            assertThrows(IllegalArgumentException.class, () -> runtime.startAll(new int[1], new int[2]));
        });
    }

    @Test
    void aFailedBatchClosesBothEndsOfItsPipe() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(10, FLOOR);
            int[] before = t.listFds();
            Batch b = t.batch();
            Batch.Ref[] p = b.pipe(0);
            b.dup(p[1]);
            b.fcntl(p[1], Linux.F_SETPIPE_SZ, -1); // no pipe can be that large: EINVAL or EPERM
            SysException e = assertThrows(SysException.class, b::run);
            assertTrue(e.getMessage().contains("batch op #3 of 4: fcntl("), e.getMessage());
            assertArrayEquals(before, t.listFds(), "both ends and the copy were closed");
        });
    }

    @Test
    void creationAndTruncationAreRefused() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(7, FLOOR);
            assertThrows(IllegalArgumentException.class, () -> t.open("/tmp/x", Linux.O_RDWR | Linux.O_CREAT, 0644));
            assertThrows(IllegalArgumentException.class, () -> t.open("/tmp/x", Linux.O_WRONLY | Linux.O_TRUNC, 0));
            assertThrows(IllegalArgumentException.class, () -> t.openAt(Linux.AT_FDCWD, "/tmp", Linux.O_RDWR
                    | Linux.O_TMPFILE, 0600));
            assertThrows(IllegalArgumentException.class, () -> t.openAt2(Linux.AT_FDCWD, "/tmp/x", Linux.O_RDWR
                    | Linux.O_CREAT, 0600, 0));
            assertThrows(IllegalArgumentException.class, () -> t.batch().open("/tmp/x", Linux.O_CREAT, 0));
        });
    }

    @Test
    void errorsNameTheCallTheTaskAndErrno() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(8, FLOOR);
            SysException e = assertThrows(SysException.class,
                    () -> t.open("/nonexistent/y", Linux.O_RDONLY | Linux.O_NONBLOCK, 0));
            assertEquals(Errno.ENOENT, e.errno());
            assertEquals("open(\"/nonexistent/y\", O_RDONLY|O_NONBLOCK) in task 8", e.call());
            SysException l = assertThrows(SysException.class, () -> t.lseek(Integer.MAX_VALUE, 0, Linux.SEEK_END));
            assertTrue(l.getMessage().startsWith("lseek(2147483647, 0, SEEK_END) in task 8: EBADF"), l.getMessage());
        });
    }

    @Test
    void fdsTravelBetweenTwoTablesWithCredentials() {
        within(() -> {
            ExecutorTaskTable a = runtime.start(10, FLOOR);
            ExecutorTaskTable b = runtime.start(11, FLOOR + 500);
            byte[] addrB = Sys.unixAbstractAddress("fdrestore-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            int sb = b.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0);
            b.setsockopt(sb, Linux.SOL_SOCKET, Linux.SO_PASSCRED, Sys.intBytes(1));
            b.bind(sb, addrB);
            int sa = a.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0);
            int[] pipe = a.pipe(0);
            byte[] payload = "hello".getBytes(StandardCharsets.US_ASCII);

            assertTrue(b.recvFds(sb, new byte[16], new int[4]).again(), "EAGAIN on an empty queue");
            assertNotEquals(TaskTable.AGAIN, a.sendFds(sa, addrB, payload, payload.length, pipe, 2));
            byte[] got = new byte[16];
            int[] fds = new int[4];
            TaskTable.Received r = b.recvFds(sb, got, fds);
            assertFalse(r.again());
            assertEquals(5, r.payloadLen());
            assertEquals("hello", new String(got, 0, 5, StandardCharsets.US_ASCII));
            assertEquals(2, r.fdCount());
            assertEquals(ProcessHandle.current().pid(), r.senderPid());
            assertEquals(0, r.senderUid());
            assertFalse(r.truncated());
            for (int i = 0; i < 2; i++) {
                assertTemp(b, fds[i]);
                assertEquals(0, Sys.kcmp(a.tid(), b.tid(), Linux.KCMP_FILE, pipe[i], fds[i]), "same open file");
            }
            // the pipe works across the two tables
            assertEquals(3, a.write(pipe[1], payload, 0, 3));
            byte[] rd = new byte[8];
            assertEquals(3, b.read(fds[0], rd, 0, 8));
            assertEquals("hel", new String(rd, 0, 3, StandardCharsets.US_ASCII));

            // more fds than the receiver takes: truncated, and the extra ones are closed in its table
            int[] beforeB = b.listFds();
            assertNotEquals(TaskTable.AGAIN, a.sendFds(sa, addrB, payload, 1, new int[] {pipe[0], pipe[1], pipe[0]}, 3));
            int[] one = new int[1];
            TaskTable.Received r2 = b.recvFds(sb, new byte[1], one);
            assertEquals(1, r2.fdCount());
            assertTrue(r2.truncated());
            int[] afterB = b.listFds();
            assertEquals(beforeB.length + 1, afterB.length, "only the planted fd is new");
            assertTrue(Arrays.binarySearch(afterB, one[0]) >= 0);

            // payload larger than the buffer: MSG_TRUNC
            assertNotEquals(TaskTable.AGAIN, a.sendFds(sa, addrB, payload, payload.length, new int[0], 0));
            TaskTable.Received r3 = b.recvFds(sb, new byte[2], new int[1]);
            assertTrue(r3.truncated());
            assertEquals(0, r3.fdCount());
        });
    }

    @Test
    void aFullDatagramQueueIsAgainNotAnError() {
        within(() -> {
            ExecutorTaskTable a = runtime.start(12, FLOOR);
            ExecutorTaskTable b = runtime.start(13, FLOOR);
            byte[] addrB = Sys.unixAbstractAddress("fdrestore-full-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            int sb = b.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
            b.bind(sb, addrB);
            int sa = a.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
            int nul = a.open("/dev/null", Linux.O_RDONLY, 0);
            int sent = 0;
            boolean again = false;
            for (int i = 0; i < 10_000 && !again; i++) {
                if (a.sendFds(sa, addrB, new byte[1], 1, new int[] {nul}, 1) != TaskTable.AGAIN) {
                    sent++;
                } else {
                    again = true;
                }
            }
            assertTrue(again, "the queue filled after " + sent + " messages");
            assertTrue(sent >= 1);
            assertEquals(Linux.FD_CLOEXEC, a.fcntl(nul, Linux.F_GETFD, 0), "the fd stays the sender's");
            int drained = 0;
            int[] fds = new int[1];
            TaskTable.Received r;
            while (!(r = b.recvFds(sb, new byte[1], fds)).again()) {
                b.close(fds[0]);
                assertEquals(1, r.fdCount());
                drained++;
            }
            assertEquals(sent, drained);
            assertNotEquals(TaskTable.AGAIN, a.sendFds(sa, addrB, new byte[1], 1, new int[] {nul}, 1), "room again after draining");
        });
    }

    @Test
    void closingTheRuntimeLeavesTheJvmTableAsItWas() {
        within(() -> {
            Map<Integer, String> before = jvmLinks();
            TaskRuntime rt = new TaskRuntime();
            ExecutorTaskTable a = rt.start(20, FLOOR);
            ExecutorTaskTable b = rt.start(21, FLOOR);
            a.open("/dev/null", Linux.O_RDONLY, 0);
            int[] p = a.pipe(0);
            a.place(p[0], 3, false);
            int sb = b.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
            byte[] addr = Sys.unixAbstractAddress("fdrestore-close-" + System.nanoTime());
            b.bind(sb, addr);
            int sa = a.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
            assertNotEquals(TaskTable.AGAIN, a.sendFds(sa, addr, new byte[1], 1, new int[] {p[1]}, 1)); // an fd in flight
            Set<String> ours = Set.of("/dev/null", "pipe:[" + a.fstat(p[0]).ino() + "]",
                    "socket:[" + a.fstat(sa).ino() + "]", "socket:[" + b.fstat(sb).ino() + "]");
            int tidA = a.tid();
            rt.close();
            assertTrue(a.isClosed());
            assertTrue(b.isClosed());
            for (int i = 0; i < 500 && Files.exists(Path.of("/proc/self/task/" + tidA)); i++) {
                Thread.sleep(10);
            }
            assertFalse(Files.exists(Path.of("/proc/self/task/" + tidA)), "the executor thread is gone");
            assertNoneOfOursIn(before, ours);
            assertThrows(IllegalStateException.class, () -> a.open("/dev/null", Linux.O_RDONLY, 0));
            a.close(); // idempotent
        });
    }

    @Test
    void spawnInheritsExactlyTheKeptFds() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(30, FLOOR);
            int nul = t.open("/dev/null", Linux.O_RDWR, 0);
            for (int fd = 0; fd <= 2; fd++) {
                t.place(t.dup(nul), fd, false);
            }
            t.close(nul);
            int[] p = t.pipe(0);
            t.place(p[1], 7, true);    // CLOEXEC is cleared for keep-fds
            t.place(p[0], 9, false);   // not kept: must not reach the child
            int stray = t.open("/dev/null", Linux.O_RDONLY, 0); // a temp fd, not kept
            SpawnSpec spec = SpawnSpec.builder("/bin/sleep").argv("sleep", "30").keep(0, 1, 2, 7).build();
            int child = t.spawn(spec);
            try {
                awaitExec(child, "sleep");
                awaitSleeping(child); // sleep's own start-up (its locale) opens and closes fd 3 meanwhile
                Set<Integer> childFds;
                try (Stream<Path> s = Files.list(Path.of("/proc/" + child + "/fd"))) {
                    childFds = s.map(x -> Integer.parseInt(x.getFileName().toString()))
                            .collect(Collectors.toCollection(TreeSet::new));
                }
                assertEquals(Set.of(0, 1, 2, 7), childFds);
                String pipeLink = Files.readSymbolicLink(Path.of("/proc/" + child + "/fd/7")).toString();
                assertEquals("pipe:[" + t.fstat(9).ino() + "]", pipeLink);
                assertEquals("/dev/null", Files.readSymbolicLink(Path.of("/proc/" + child + "/fd/1")).toString());
                assertTrue(Files.readSymbolicLink(Path.of("/proc/" + child + "/exe")).toString().endsWith("sleep"));
                assertEquals(0, t.fcntl(7, Linux.F_GETFD, 0), "keep-fds lose FD_CLOEXEC");
                assertEquals(Linux.FD_CLOEXEC, t.fcntl(stray, Linux.F_GETFD, 0));
            } finally {
                Sys.kill(child, Linux.SIGKILL);
                WaitStatus w = Sys.waitpid(child, 0);
                assertTrue(w.signaled());
            }
        });
    }

    /**
     * posix_spawn returns once the child released the parent's memory (exec_mmap), which is before the
     * kernel runs close-on-exec and sets comm: wait for comm to know the exec finished.
     */
    /** Waits until {@code pid} sleeps (state S: sleep is in nanosleep, its start-up is over). */
    private static void awaitSleeping(int pid) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
            if (st.charAt(st.lastIndexOf(')') + 2) == 'S') {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "process " + pid + " never went to sleep: " + st);
            Thread.sleep(1);
        }
    }

    private static void awaitExec(int pid, String comm) throws Exception {
        while (!Files.readString(Path.of("/proc/" + pid + "/comm")).trim().equals(comm)) {
            Thread.sleep(1);
        }
    }

    @Test
    void spawnWithSetsidPgroupAndChdir() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(31, FLOOR);
            int child = t.spawn(SpawnSpec.builder("/bin/sleep").argv("sleep", "30").setsid(true).chdir("/tmp").build());
            try {
                String stat = Files.readString(Path.of("/proc/" + child + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                assertEquals(String.valueOf(child), f[2], "pgrp");
                assertEquals(String.valueOf(child), f[3], "session");
                assertEquals("/tmp", Files.readSymbolicLink(Path.of("/proc/" + child + "/cwd")).toString());
            } finally {
                Sys.kill(child, Linux.SIGKILL);
                Sys.waitpid(child, 0);
            }
            int c2 = t.spawn(SpawnSpec.builder("/bin/sleep").argv("sleep", "30").pgroup(0).build());
            try {
                String stat = Files.readString(Path.of("/proc/" + c2 + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                assertEquals(String.valueOf(c2), f[2], "own process group");
            } finally {
                Sys.kill(c2, Linux.SIGKILL);
                Sys.waitpid(c2, 0);
            }
            int c3 = t.spawn(SpawnSpec.builder("/bin/true").build());
            WaitStatus w = Sys.waitpid(c3, 0);
            assertTrue(w.exited());
            assertEquals(0, w.exitCode());
        });
    }

    @Test
    void spawnErrorsArePrecise() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(32, FLOOR);
            SysException e = assertThrows(SysException.class,
                    () -> t.spawn(SpawnSpec.builder("/nonexistent/prog").build()));
            assertEquals(Errno.ENOENT, e.errno());
            assertTrue(e.getMessage().startsWith("posix_spawn(\"/nonexistent/prog\""), e.getMessage());
            SysException k = assertThrows(SysException.class,
                    () -> t.spawn(SpawnSpec.builder("/bin/true").keep(0, 1, 2, 4000).build()));
            assertEquals(Errno.EBADF, k.errno());
            assertTrue(k.getMessage().contains("keep fd 4000"), k.getMessage());
        });
    }

    @Test
    void writeAgainAndIoctlBuffers() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(33, FLOOR);
            int[] p = t.pipe(Linux.O_NONBLOCK);
            byte[] big = new byte[65536];
            int w;
            int total = 0;
            while ((w = t.write(p[1], big, 0, big.length)) > 0) {
                total += w;
            }
            assertEquals(-1, w, "EAGAIN is -1");
            byte[] n = new byte[4];
            t.ioctl(p[0], Linux.FIONREAD, n);
            int queued = (n[0] & 0xff) | (n[1] & 0xff) << 8 | (n[2] & 0xff) << 16 | (n[3] & 0xff) << 24;
            assertEquals(total, queued);
            int s = t.socket(Linux.AF_UNIX, Linux.SOCK_SEQPACKET, 0);
            byte[] type = new byte[4];
            assertEquals(4, t.getsockopt(s, Linux.SOL_SOCKET, Linux.SO_TYPE, type));
            assertEquals(Linux.SOCK_SEQPACKET, type[0]);
        });
    }

    @Test
    void concurrentCallersAreSerialised() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(34, FLOOR);
            int nul = t.open("/dev/null", Linux.O_RDONLY, 0);
            int[] before = t.listFds();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 300; i++) {
                            int d = t.dup(nul);
                            assertTrue(d >= FLOOR);
                            t.close(d);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertArrayEquals(before, t.listFds());
        });
    }

    /**
     * The native-only rule, checked: every fd the JVM copied into the table (jars included) is replaced by
     * the read end of an empty blocking pipe. Class loading or any java.io on the executor would now read
     * from it (hang, caught by the timeout) or fail (reported as an internal error). Every operation must
     * still work.
     */
    @Test
    void theExecutorNeverUsesTheJvmFdsOfItsTable() {
        within(() -> {
            ExecutorTaskTable t = runtime.start(40, FLOOR);
            int[] p = t.pipe(0);
            for (int fd : t.inheritedFds()) {
                t.place(t.dup(p[0]), fd, false);
            }
            assertEquals(0, t.inheritedFds().length);
            ExecutorTaskTable peer = runtime.start(41, FLOOR);
            byte[] addr = Sys.unixAbstractAddress("fdrestore-hostile-" + System.nanoTime());
            int ps = peer.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0);
            peer.bind(ps, addr);
            int s = t.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_NONBLOCK, 0);
            t.setsockopt(s, Linux.SOL_SOCKET, Linux.SO_PASSCRED, Sys.intBytes(1));
            t.bind(s, Sys.unixAbstractAddress("fdrestore-hostile-t-" + System.nanoTime()));
            int nul = t.open("/dev/null", Linux.O_RDWR, 0);
            t.close(t.openAt2(Linux.AT_FDCWD, "/dev/null", Linux.O_RDONLY, 0, 0));
            t.fstat(nul);
            t.lseek(nul, 0, Linux.SEEK_SET);
            t.write(p[1], new byte[3], 0, 3);
            t.ioctl(p[0], Linux.FIONREAD, new byte[4]);
            assertEquals(3, t.read(p[0], new byte[3], 0, 3));
            assertThrows(SysException.class, () -> t.open("/nonexistent", Linux.O_RDONLY, 0));
            assertNotEquals(TaskTable.AGAIN, t.sendFds(s, addr, new byte[2], 2, new int[] {nul}, 1));
            int[] got = new int[1];
            TaskTable.Received r = peer.recvFds(ps, new byte[2], got);
            assertEquals(1, r.fdCount());
            assertTrue(t.recvFds(s, new byte[1], new int[1]).again());
            Batch b = t.batch();
            b.close(b.open("/dev/null", Linux.O_RDONLY, 0));
            b.run();
            t.listFds();
            int child = t.spawn(SpawnSpec.builder("/bin/true").keep(nul).build());
            assertEquals(0, Sys.waitpid(child, 0).exitCode());
            assertThrows(SysException.class, () -> t.spawn(SpawnSpec.builder("/nonexistent").build()));
        });
    }
}
