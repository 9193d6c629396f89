package fdrestore.core.engine;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.Stage;
import java.util.ArrayList;
import java.util.List;

/**
 * The dependencies of the masters of one {@link TaskLoop} ({@code FileRestorer.dependencies}): whether each
 * is met, by a slot of the same task or by any file's stage, and, when it is not, why, in the words of the
 * stall report.
 */
final class DependencyCheck {
    private final TaskLoop loop;

    DependencyCheck(TaskLoop loop) {
        this.loop = loop;
    }

    /** The first dependency that gates {@code d}'s open and is not met yet; null when it may open. */
    Dependency unmetGate(FileDesc d) {
        for (Dependency dep : d.deps) {
            if (dep.gatesOpen() && !met(dep)) {
                return dep;
            }
        }
        return null;
    }

    boolean met(Dependency dep) {
        if (dep.sameTask()) {
            Fle other = loop.fleByFile.get(dep.fileId());
            return other != null && other.stage().atLeast(dep.stage());
        }
        return loop.engine.desc(dep.fileId()).stage().atLeast(dep.stage());
    }

    String describe(Dependency dep) {
        Stage now;
        String where;
        if (dep.sameTask()) {
            Fle other = loop.fleByFile.get(dep.fileId());
            now = other == null ? null : other.stage();
            where = other == null ? "file " + dep.fileId() + " (absent from this task)" : other.toString();
        } else {
            FileDesc other = loop.engine.desc(dep.fileId());
            now = other.stage();
            where = other.master.toString();
        }
        return "waits for " + where + " to be " + dep.stage() + " (now " + now + "): " + dep.why();
    }

    String unmetFinishDeps(FileDesc d) {
        List<String> out = new ArrayList<>();
        for (Dependency dep : d.deps) {
            if (!dep.gatesOpen() && !met(dep)) {
                out.add(describe(dep));
            }
        }
        return out.isEmpty() ? "open answered Again without saying why" : String.join("; ", out);
    }
}
