package fdrestore.app.cli;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.app.Cli;
import fdrestore.core.restore.Restorer;
import fdrestore.core.restore.Verifier;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@code fdrestore restore} prints once the tree is restored: the pid map as text, or its --json document. */
final class RestoreSummary {
    private RestoreSummary() {
    }

    static void text(PrintWriter out, Path dir, ImageSet images, Restorer.Result r, Verifier.Report report, long ns) {
        out.printf("Restored %d task%s (%d fds) from %s in %.1f ms (engine %.1f ms)%n", r.tasks().size(),
                r.tasks().size() == 1 ? "" : "s", r.fds(), dir, ns / 1e6, r.engineNs() / 1e6);
        Map<Integer, Integer> depth = new HashMap<>();
        out.printf("  %-16s %-8s %5s  %s%n", "image pid", "pid", "fds", "runs");
        for (Restorer.RestoredTask t : r.tasks()) {
            Task it = images.task(t.imagePid()).orElseThrow();
            int d = depth.getOrDefault(it.ppid(), -1) + 1;
            depth.put(it.pid(), d);
            out.printf("  %-16s %-8d %5d  %s%n", "  ".repeat(d) + t.imagePid(), t.pid(), it.fds().size(), t.command());
        }
        if (r.droppedMessages() > 0) {
            out.printf("Refused %d foreign message(s) sent to the transport during the restore.%n", r.droppedMessages());
        }
        if (report != null) {
            if (report.ok()) {
                out.printf("Verified: the %d fds of the %d tasks match the images (numbers, kinds, flags, positions,"
                        + " pipes); sharing proved with %d kcmp checks.%n", report.fdsChecked(), report.tasksChecked(),
                        report.kcmpChecks());
            } else {
                out.printf("Verification FAILED: %d mismatch(es):%n", report.mismatches().size());
                for (String m : report.mismatches()) {
                    out.println("  - " + m);
                }
            }
        }
    }

    static Map<String, Object> json(Path dir, RestoreCommand.Then then, ImageSet images, Restorer.Result r,
            Verifier.Report report, long ns) {
        Map<String, Object> doc = Cli.document("restore");
        doc.put("dir", dir.toString());
        List<Object> tasks = new ArrayList<>();
        for (Restorer.RestoredTask t : r.tasks()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("imagePid", t.imagePid());
            m.put("pid", t.pid());
            m.put("fds", images.task(t.imagePid()).orElseThrow().fds().size());
            m.put("command", t.command());
            tasks.add(m);
        }
        doc.put("tasks", tasks);
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("planMs", r.planNs() / 1e6);
        timings.put("tablesMs", r.tablesNs() / 1e6);
        timings.put("engineMs", r.engineNs() / 1e6);
        timings.put("spawnMs", r.spawnNs() / 1e6);
        timings.put("totalMs", ns / 1e6);
        doc.put("timings", timings);
        doc.put("fds", r.fds());
        doc.put("droppedMessages", r.droppedMessages());
        if (report != null) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("ok", report.ok());
            v.put("fdsChecked", report.fdsChecked());
            v.put("kcmpChecks", report.kcmpChecks());
            v.put("mismatches", report.mismatches());
            doc.put("verify", v);
        }
        doc.put("then", then.name());
        if (then == RestoreCommand.Then.detach) {
            doc.put("stopCommand", r.tree().stopCommand(new ArrayList<>(r.pidMap().values())));
            if (r.tree().dir() != null) {
                doc.put("cgroup", r.tree().dir().toString());
            }
        }
        return doc;
    }
}
