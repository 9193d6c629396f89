package fdrestore.app;

/** criu's options that fdrestore refuses, each with the reason a user is given. */
final class CriuOptions {
    private CriuOptions() {
    }

    /**
     * criu options fdrestore does not implement, with the reason given when one is used. Only options no
     * fdrestore command defines are looked up here (picocli reports them as unknown first).
     */
    static final java.util.Map<String, String> CRIU_UNSUPPORTED = criuUnsupported();

    private static java.util.Map<String, String> criuUnsupported() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        String memory = "fdrestore restores fd tables, not memory or whole processes";
        String ns = "fdrestore restores into the current namespaces and cgroups";
        String pageServer = "fdrestore has no page server";
        String startsAtOnce = "fdrestore's tasks start their command (or hold their fds) at once; --hold keeps them "
                + "from running their command";
        m.put("--tcp-established", "established TCP connections need criu's TCP repair of the whole process; "
                + "fdrestore restores listeners and unconnected sockets");
        m.put("--tcp-close", "fdrestore does not restore established TCP connections, so there are none to close");
        m.put("--ext-unix-sk", "a unix socket's peer outside the image set is not restored; dump the whole tree");
        m.put("--external", "external resources are not mapped by fdrestore; --root resolves the images' paths");
        m.put("--ext-mount-map", ns);
        m.put("--manage-cgroups", ns);
        m.put("--cgroup-root", ns);
        m.put("--cgroup-props", ns);
        m.put("--cgroup-props-file", ns);
        m.put("--cgroup-dump-controller", ns);
        m.put("--cgroup-yard", ns);
        m.put("--join-ns", ns);
        m.put("-J", ns);
        m.put("--empty-ns", ns);
        m.put("--veth-pair", ns);
        m.put("--lsm-profile", "restored tasks keep fdrestore's LSM profile");
        m.put("--lsm-mount-context", "restored tasks keep fdrestore's LSM context");
        m.put("--lazy-pages", memory);
        m.put("--auto-dedup", memory);
        m.put("--track-mem", memory);
        m.put("--prev-images-dir", memory);
        m.put("--pre-dump-mode", memory);
        m.put("--page-server", memory);
        m.put("--address", pageServer);
        m.put("--port", pageServer);
        m.put("--ps-socket", pageServer);
        m.put("--leave-stopped", startsAtOnce);
        m.put("-s", startsAtOnce);
        m.put("--restore-sibling", "the root task is always fdrestore's child");
        m.put("--work-dir", "give --log-file and --pidfile with their own directories");
        m.put("-W", "give --log-file and --pidfile with their own directories");
        m.put("--action-script", "fdrestore runs no hooks");
        m.put("--status-fd", "--then=detach returns once the tree is restored; its exit code says how it went");
        m.put("--log-pid", "fdrestore writes one log file");
        m.put("--file-locks", "not needed: fdrestore restores the locks and leases of filelocks.img whenever the images hold one");
        m.put("--link-remap", "fdrestore restores unlinked files from ghost images only");
        m.put("--ghost-limit", "fdrestore dumps ghost files whole");
        m.put("--cpu-cap", memory);
        m.put("--weak-sysctls", ns);
        m.put("--skip-mnt", ns);
        m.put("--enable-fs", ns);
        m.put("--network-lock", "fdrestore restores no established connections, so it locks no network");
        m.put("--timeout", "fdrestore stops a stalled restore by itself and reports what it waits for");
        m.put("--display-stats", "--json prints the timings");
        m.put("--libdir", "fdrestore's plugins are pf4j jars: --plugins DIR");
        m.put("-L", "fdrestore's plugins are pf4j jars: --plugins DIR");
        m.put("--config", "fdrestore reads no configuration file");
        m.put("--no-default-config", "fdrestore reads no configuration file");
        m.put("--stream", "fdrestore reads image directories only");
        m.put("--tls", "fdrestore has no page server");
        m.put("--freeze-cgroup", "fdrestore dump --freeze freezes the tree's own cgroup v2 when the tree is alone in it, else holds its tasks with ptrace");
        m.put("--irmap-scan-path", "fdrestore dump names files by their path in /proc");
        m.put("--file-validation", "fdrestore checks a regular file's size when it reopens it");
        m.put("--leave-running", "fdrestore dump always leaves the tree running (--freeze resumes it)");
        m.put("-R", "fdrestore dump always leaves the tree running (--freeze resumes it)");
        return java.util.Collections.unmodifiableMap(m);
    }
}
