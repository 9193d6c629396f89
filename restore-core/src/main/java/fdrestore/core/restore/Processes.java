package fdrestore.core.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
}
