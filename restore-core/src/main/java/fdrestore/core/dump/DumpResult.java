package fdrestore.core.dump;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a dump wrote: the tasks, the files per kind, what was skipped and noted, and whether it froze the tree
 * and with what ({@code freezer}: "cgroup DIR" for the cgroup v2 freezer, "ptrace", or null without --freeze).
 */
public record DumpResult(int rootPid, Path dir, List<TaskSummary> tasks, Map<String, Integer> filesPerKind,
                         List<Skipped> skipped, List<String> notes, boolean freeze, List<Integer> resumed,
                         String freezer, long elapsedNs) {
    /** One dumped task. */
    public record TaskSummary(int pid, int ppid, int pgid, int sid, List<Integer> threads, String comm, int fds) {
    }

    /** One fd left out (--skip-unknown), with the reason. */
    public record Skipped(int pid, int fd, String link, String reason) {
        @Override
        public String toString() {
            return "task " + pid + " fd " + fd + " (" + link + "): " + reason;
        }
    }

    /** The number of file descriptions written. */
    public int files() {
        return filesPerKind.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** A JSON-ready map (see {@code fdrestore.core.json.Json}). */
    public Map<String, Object> toJson() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("pid", rootPid);
        doc.put("dir", dir.toString());
        List<Object> ts = new ArrayList<>();
        for (TaskSummary t : tasks) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", t.pid());
            m.put("ppid", t.ppid());
            m.put("pgid", t.pgid());
            m.put("sid", t.sid());
            m.put("threads", new ArrayList<Object>(t.threads()));
            m.put("comm", t.comm());
            m.put("fds", t.fds());
            ts.add(m);
        }
        doc.put("tasks", ts);
        doc.put("files", files());
        doc.put("filesPerKind", new LinkedHashMap<String, Object>(filesPerKind));
        List<Object> sk = new ArrayList<>();
        for (Skipped s : skipped) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", s.pid());
            m.put("fd", s.fd());
            m.put("link", s.link());
            m.put("reason", s.reason());
            sk.add(m);
        }
        doc.put("skipped", sk);
        doc.put("notes", new ArrayList<Object>(notes));
        doc.put("freeze", freeze);
        doc.put("resumed", new ArrayList<Object>(resumed));
        doc.put("freezer", freezer);
        doc.put("elapsedMs", elapsedNs / 1e6);
        return doc;
    }
}
