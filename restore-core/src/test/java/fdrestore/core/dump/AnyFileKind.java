package fdrestore.core.dump;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.sys.Linux;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A test kind whose dump side records every file it accepts as a regular file named by its link, and
 * runs a hook before (so a test can make the tree change under the dump, or fail).
 */
class AnyFileKind implements FileKind, FileDumper {
    interface Hook {
        void run(DumpContext ctx) throws DumpException;
    }

    private final Predicate<LiveFile> accepts;
    private final Hook hook;
    /** Set to make its plan fail, as a kind whose dump wrote what its restore refuses. */
    volatile boolean refusePlan;

    AnyFileKind(Predicate<LiveFile> accepts, Hook hook) {
        this.accepts = accepts;
        this.hook = hook;
    }

    AnyFileKind() {
        this(f -> true, ctx -> { });
    }

    @Override
    public String name() {
        return "any";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.REG);
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        if (refusePlan) {
            throw new PlanException("test kind: refuses to plan " + file);
        }
        return c -> {
            throw new UnsupportedOperationException("test kind: a dump's self-check only plans");
        };
    }

    @Override
    public boolean dumps(LiveFile file) {
        return accepts.test(file);
    }

    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        hook.run(ctx);
        return FileEntry.newBuilder().setType(FdType.REG.code()).setId((int) ctx.id())
                .setReg(RegFileEntry.newBuilder().setId((int) ctx.id())
                        .setFlags(ctx.file().fdinfo().flags() & ~Linux.O_CLOEXEC).setPos(ctx.file().fdinfo().pos())
                        .setFown(ctx.fown()).setName(ctx.file().link()))
                .build();
    }
}
