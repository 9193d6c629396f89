package fdrestore.core.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/** What /proc says of a process: the fields fdrestore reads from /proc/PID/stat. */
public final class Processes {
    private Processes() {
    }

    /** The fields after the command name: {state, ppid, pgrp, session} (state as its character). */
    public static long[] stat(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return new long[] {f[0].charAt(0), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])};
    }

    /** True while process {@code pid} exists and has not ended (a zombie has ended). */
    public static boolean running(int pid) {
        try {
            return stat(pid)[0] != 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Waits, up to 2 s, until fd {@code fd} of process {@code pid} is closed (or the process is gone). */
    static void awaitClosed(int pid, int fd) {
        Path p = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(50_000);
        }
    }
}
