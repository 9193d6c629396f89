package fdrestore.core.runtime;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Native;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link SpawnSpec} as the executor's spawn op reads it: C strings, argv and envp vectors, the sorted
 * keep fds and the file-action records (4 longs each: kind, fd, newFd or path address, flags << 32 | mode)
 * in the arena, their addresses in the core's ext slots. The strings are converted when this is made,
 * outside the table's lock; {@link #writeTo} runs under it.
 */
final class SpawnEncoding {
    private static final int ACTION_SIZE = 32;

    private final SpawnSpec spec;
    private final int[] keep;
    private final byte[] path;
    private final List<byte[]> argv = new ArrayList<>();
    private final List<byte[]> envp = new ArrayList<>();
    private final List<byte[]> actionPaths = new ArrayList<>();
    private final long need;

    SpawnEncoding(SpawnSpec spec) {
        this.spec = spec;
        this.keep = spec.sortedKeepFds();
        this.path = Native.cString(spec.path());
        for (String a : spec.argv()) {
            argv.add(Native.cString(a));
        }
        for (String e : spec.envp()) {
            envp.add(Native.cString(e));
        }
        List<SpawnSpec.FileAction> acts = spec.actions();
        long n = Arena.space(path.length) + Arena.space(8 * (argv.size() + 1)) + Arena.space(8 * (envp.size() + 1))
                + Arena.space(4 * Math.max(keep.length, 1)) + Arena.space(ACTION_SIZE * Math.max(acts.size(), 1));
        for (byte[] b : argv) {
            n += Arena.space(b.length);
        }
        for (byte[] b : envp) {
            n += Arena.space(b.length);
        }
        for (SpawnSpec.FileAction a : acts) {
            byte[] p = null;
            if (a instanceof SpawnSpec.Open o) {
                p = Native.cString(o.path());
            } else if (a instanceof SpawnSpec.Chdir c) {
                p = Native.cString(c.path());
            }
            actionPaths.add(p);
            if (p != null) {
                n += Arena.space(p.length);
            }
        }
        this.need = n;
    }

    /** The arena bytes {@link #writeTo} takes. */
    long need() {
        return need;
    }

    /** Writes the request into {@code arena} (just reset for {@link #need()} bytes) and {@code ext}. */
    void writeTo(Arena arena, long[] ext) {
        long pa = arena.put(path, 0, path.length);
        long av = arena.putVector(argv);
        long ev = arena.putVector(envp);
        long kp = arena.alloc(4 * Math.max(keep.length, 1));
        for (int i = 0; i < keep.length; i++) {
            arena.putInt(kp + 4L * i, keep[i]);
        }
        List<SpawnSpec.FileAction> acts = spec.actions();
        long ap = arena.alloc(ACTION_SIZE * Math.max(acts.size(), 1));
        for (int i = 0; i < acts.size(); i++) {
            long o = ap + (long) ACTION_SIZE * i;
            SpawnSpec.FileAction a = acts.get(i);
            byte[] p = actionPaths.get(i);
            long pp = p == null ? 0 : arena.put(p, 0, p.length);
            if (a instanceof SpawnSpec.Dup2 d) {
                arena.putLong(o, ExecutorCore.ACT_DUP2);
                arena.putLong(o + 8, d.fd());
                arena.putLong(o + 16, d.newFd());
            } else if (a instanceof SpawnSpec.Close c) {
                arena.putLong(o, ExecutorCore.ACT_CLOSE);
                arena.putLong(o + 8, c.fd());
            } else if (a instanceof SpawnSpec.Open op) {
                arena.putLong(o, ExecutorCore.ACT_OPEN);
                arena.putLong(o + 8, op.fd());
                arena.putLong(o + 16, pp);
                arena.putLong(o + 24, ((long) op.flags() << 32) | (op.mode() & 0xffffffffL));
            } else {
                arena.putLong(o, ExecutorCore.ACT_CHDIR);
                arena.putLong(o + 16, pp);
            }
        }
        ext[ExecutorCore.SP_PATH] = pa;
        ext[ExecutorCore.SP_ARGV] = av;
        ext[ExecutorCore.SP_ENVP] = ev;
        ext[ExecutorCore.SP_KEEP] = kp;
        ext[ExecutorCore.SP_KEEP_COUNT] = keep.length;
        ext[ExecutorCore.SP_ACTIONS] = ap;
        ext[ExecutorCore.SP_ACTION_COUNT] = acts.size();
        ext[ExecutorCore.SP_FLAGS] = (spec.setsid() ? Linux.POSIX_SPAWN_SETSID : 0)
                | (spec.pgroup() >= 0 ? Linux.POSIX_SPAWN_SETPGROUP : 0);
        ext[ExecutorCore.SP_PGROUP] = Math.max(spec.pgroup(), 0);
    }

    /** The call, as a failure names it. */
    @Override
    public String toString() {
        return "posix_spawn(" + Native.quote(spec.path()) + ", " + spec.argv() + ", keep " + Arrays.toString(keep)
                + (spec.setsid() ? ", POSIX_SPAWN_SETSID" : "")
                + (spec.pgroup() >= 0 ? ", POSIX_SPAWN_SETPGROUP " + spec.pgroup() : "") + ")";
    }
}
