package fdrestore.testkit;

import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.SysException;
import fdrestore.testkit.FakeKernel.Datagram;
import fdrestore.testkit.FakeKernel.FakeFile;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The transport of a {@link FakeKernel}: datagrams between {@link FakeTaskTable}s, with bounded queues
 * (a full queue answers false) and copies of descriptions, like SCM_RIGHTS. Wrap it with
 * {@code Mockito.spy(...)} to verify calls, or mock {@link Transport} outright.
 */
final class FakeTransport implements Transport {
    private final FakeKernel kernel;
    private final AtomicLong dropped = new AtomicLong();

    FakeTransport(FakeKernel kernel) {
        this.kernel = kernel;
    }

    private static FakeTaskTable fake(TaskTable t) {
        if (!(t instanceof FakeTaskTable f)) {
            throw new IllegalArgumentException("the fake transport works only with FakeTaskTable, not " + t);
        }
        return f;
    }

    @Override
    public void open(TaskTable table) throws SysException {
        fake(table).note("socket", "transport endpoint of task " + table.pid());
        kernel.bindQueue(table.pid());
    }

    @Override
    public boolean send(TaskTable from, int toPid, int[] fds, long[] tags, int count) throws SysException {
        FakeFile[] files = fake(from).filesFor(fds, count);
        long[] t = java.util.Arrays.copyOf(tags, count);
        return kernel.enqueue(toPid, new Datagram(from.pid(), files, t));
    }

    @Override
    public int receive(TaskTable table, int[] fds, long[] tags) throws SysException {
        Datagram d = kernel.dequeue(table.pid());
        if (d == null) {
            return -1;
        }
        int[] installed = fake(table).installReceived(d.files());
        System.arraycopy(installed, 0, fds, 0, installed.length);
        System.arraycopy(d.tags(), 0, tags, 0, installed.length);
        return installed.length;
    }

    @Override
    public void close(TaskTable table) {
        kernel.unbindQueue(table.pid());
    }

    @Override
    public long dropped() {
        return dropped.get();
    }

    @Override
    public void close() {
    }
}
