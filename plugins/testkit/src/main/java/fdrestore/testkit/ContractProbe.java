package fdrestore.testkit;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.OpenResult;
import java.util.ArrayList;
import java.util.List;

/**
 * Wraps a restorer of the kind under test: records the calls each open makes on the fake table, and,
 * for a fault run, arms {@link FakeTaskTable#failOn} so that exactly the chosen call fails.
 */
final class ContractProbe implements FileRestorer {
    private final long fileId;
    private final FileRestorer inner;
    private final Fault fault;
    private final FakeKernel kernel;
    final List<String> names = new ArrayList<>();
    final List<String> texts = new ArrayList<>();

    ContractProbe(long fileId, FileRestorer inner, Fault fault, FakeKernel kernel) {
        this.fileId = fileId;
        this.inner = inner;
        this.fault = fault;
        this.kernel = kernel;
    }

    @Override
    public OpenResult open(OpenContext ctx) throws Exception {
        // The fake table behind the engine's (the same object, unless the environment decorates it).
        FakeTaskTable t = kernel.table(ctx.table().pid());
        if (ctx.table() instanceof FakeTaskTable other && other != t) {
            throw new IllegalStateException("the contract runs on the fake kernel's tables only");
        }
        int before = t.callNames().size();
        boolean armed = false;
        if (fault != null && fault.index >= names.size()) {
            if (!fault.expected.subList(0, names.size()).equals(names)) {
                throw new IllegalStateException("file " + fileId + ": the kind's calls differ from the first run: "
                        + names + " vs " + fault.expected);
            }
            int nth = 0;
            for (int i = names.size(); i <= fault.index; i++) {
                if (fault.expected.get(i).equals(fault.name)) {
                    nth++;
                }
            }
            t.failOn(fault.name, nth, FileKindContractTest.FAULT);
            armed = true;
        }
        try {
            return inner.open(ctx);
        } finally {
            List<String> n = t.callNames();
            List<String> x = t.calls();
            for (int i = before; i < n.size(); i++) {
                names.add(n.get(i));
                texts.add(x.get(i));
            }
            if (armed) {
                t.clearFaults();
            }
        }
    }

    @Override
    public List<Dependency> dependencies() {
        return inner.dependencies();
    }

    @Override
    public void abort() throws Exception {
        inner.abort();
    }

    @Override
    public FleInfo chooseMaster(List<FleInfo> fles) {
        return inner.chooseMaster(fles);
    }

    @Override
    public String toString() {
        return inner.toString();
    }

    /** Which call of which file fails: the {@code index}-th call the kind made for the file, named {@code name}. */
    record Fault(long fileId, int index, String name, List<String> expected) {
    }
}
