package fdrestore.core.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What {@link ExecutorTaskTable#spawn} starts: {@code path} with {@code argv} and {@code envp}, keeping
 * exactly {@code keepFds} of the task table (every other fd gets FD_CLOEXEC, the keep-fds lose it), with
 * optional setsid, process group and file actions (run in order in the child after setsid/setpgid: the
 * CTTY stage opens the tty slave here without O_NOCTTY).
 *
 * @param pgroup -1 for no POSIX_SPAWN_SETPGROUP, 0 for a new group led by the child, or a group id
 */
public record SpawnSpec(String path, List<String> argv, List<String> envp, int[] keepFds, boolean setsid,
                        int pgroup, List<FileAction> actions) {

    public SpawnSpec {
        Objects.requireNonNull(path, "path");
        argv = List.copyOf(argv);
        envp = List.copyOf(envp);
        keepFds = keepFds.clone();
        actions = List.copyOf(actions);
    }

    /** The keep-fds sorted, without duplicates. */
    public int[] sortedKeepFds() {
        int[] k = Arrays.stream(keepFds).sorted().distinct().toArray();
        if (k.length > 0 && k[0] < 0) {
            throw new IllegalArgumentException("negative keep fd " + k[0]);
        }
        return k;
    }

    /** A posix_spawn file action. */
    public sealed interface FileAction {
    }

    /** posix_spawn_file_actions_adddup2. */
    public record Dup2(int fd, int newFd) implements FileAction {
    }

    /** posix_spawn_file_actions_addclose. */
    public record Close(int fd) implements FileAction {
    }

    /** posix_spawn_file_actions_addopen (e.g. the controlling tty, without O_NOCTTY, after setsid). */
    public record Open(int fd, String path, int flags, int mode) implements FileAction {
    }

    /** posix_spawn_file_actions_addchdir_np. */
    public record Chdir(String path) implements FileAction {
    }

    /** Starts a builder for {@code path}; argv defaults to {path}, envp to empty. */
    public static Builder builder(String path) {
        return new Builder(path);
    }

    /** Builder of {@link SpawnSpec}. */
    public static final class Builder {
        private final String path;
        private List<String> argv;
        private List<String> envp = List.of();
        private int[] keep = new int[0];
        private boolean setsid;
        private int pgroup = -1;
        private final List<FileAction> actions = new ArrayList<>();

        private Builder(String path) {
            this.path = path;
            this.argv = List.of(path);
        }

        public Builder argv(String... args) {
            this.argv = List.of(args);
            return this;
        }

        public Builder argv(List<String> args) {
            this.argv = List.copyOf(args);
            return this;
        }

        public Builder envp(List<String> env) {
            this.envp = List.copyOf(env);
            return this;
        }

        public Builder keep(int... fds) {
            this.keep = fds.clone();
            return this;
        }

        public Builder setsid(boolean on) {
            this.setsid = on;
            return this;
        }

        public Builder pgroup(int pgid) {
            this.pgroup = pgid;
            return this;
        }

        public Builder chdir(String dir) {
            actions.add(new Chdir(dir));
            return this;
        }

        public Builder action(FileAction action) {
            actions.add(action);
            return this;
        }

        public SpawnSpec build() {
            return new SpawnSpec(path, argv, envp, keep, setsid, pgroup, actions);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpawnSpec s && path.equals(s.path) && argv.equals(s.argv) && envp.equals(s.envp)
                && Arrays.equals(keepFds, s.keepFds) && setsid == s.setsid && pgroup == s.pgroup
                && actions.equals(s.actions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, argv, envp, Arrays.hashCode(keepFds), setsid, pgroup, actions);
    }

    @Override
    public String toString() {
        return "SpawnSpec[" + path + " " + argv + ", keep " + Arrays.toString(keepFds)
                + (setsid ? ", setsid" : "") + (pgroup >= 0 ? ", pgroup " + pgroup : "") + ", " + actions + "]";
    }
}
