package fdrestore.testkit;

import fdrestore.api.image.FdType;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanContext;
import java.util.EnumSet;
import java.util.Set;

/**
 * A stand-in file kind for the files a test does not care about (an epoll's targets, the stdio of a task):
 * each file is one {@code open("stub:TYPE:ID")} on the fake table, done in one call. Not a pf4j extension,
 * so it never competes with real plugins.
 */
public final class StubKind implements FileKind {
    private final Set<FdType> types;

    public StubKind(Set<FdType> types) {
        this.types = Set.copyOf(types);
    }

    /** A stub for every fd type except {@code excluded}. */
    public static StubKind allExcept(Set<FdType> excluded) {
        EnumSet<FdType> s = EnumSet.allOf(FdType.class);
        s.removeAll(excluded);
        return new StubKind(s);
    }

    /** The path a stub opens for file {@code fileId} of {@code type}. */
    public static String path(FdType type, long fileId) {
        return "stub:" + type + ":" + fileId;
    }

    @Override
    public String name() {
        return "stub";
    }

    @Override
    public Set<FdType> fdTypes() {
        return types;
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) {
        String path = path(file.type(), file.id());
        return c -> OpenResult.done(c.table().open(path, 0, 0));
    }
}
