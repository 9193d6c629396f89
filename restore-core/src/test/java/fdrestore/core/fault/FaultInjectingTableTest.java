package fdrestore.core.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FaultInjectingTableTest {
    private static TaskTable table(int pid) throws SysException {
        TaskTable t = mock(TaskTable.class);
        when(t.pid()).thenReturn(pid);
        when(t.open(org.mockito.ArgumentMatchers.anyString(), anyInt(), anyInt())).thenReturn(42);
        return t;
    }

    @Test
    void parsesSpecs() {
        assertEquals(new FaultSpec("open", 2, Errno.EIO, FaultSpec.ANY_TASK), FaultSpec.parse("open:2"));
        assertEquals(new FaultSpec("sendfds", 1, Errno.ENOMEM, 7), FaultSpec.parse("sendFds:1:ENOMEM@7"));
        assertEquals(new FaultSpec("spawn", 3, 28, FaultSpec.ANY_TASK), FaultSpec.parse("spawn:3:28"));
        for (String bad : List.of("open", "open:0", "open:x", "open:1:EWHAT", ":1", "open:1:2:3", "open:1@x")) {
            assertThrows(IllegalArgumentException.class, () -> FaultSpec.parse(bad), bad);
        }
    }

    @Test
    void theNthCallOverAllTasksFailsOnceAndDoesNothing() throws Exception {
        FaultPlan plan = new FaultPlan(List.of(FaultSpec.parse("open:2")));
        TaskTable a = table(1);
        TaskTable b = table(2);
        FaultInjectingTable fa = new FaultInjectingTable(a, plan);
        FaultInjectingTable fb = new FaultInjectingTable(b, plan);
        assertEquals(42, fa.open("/x", 0, 0));
        SysException e = assertThrows(SysException.class, () -> fb.open("/y", 0, 0));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("open(\"/y\"") && e.getMessage().contains("[injected fault open:2:EIO]"),
                e.getMessage());
        verify(b, never()).open("/y", 0, 0);
        assertEquals(42, fb.open("/z", 0, 0));
        assertEquals(Map.of("open", 3L), plan.counts());
        assertEquals(Map.of(1, Map.of("open", 1L), 2, Map.of("open", 2L)), plan.countsByTask());
        assertEquals(1, plan.injected().size());
    }

    @Test
    void aTaskSpecCountsOnlyThatTask() throws Exception {
        FaultPlan plan = new FaultPlan(List.of(FaultSpec.parse("close:1:EBADF@2")));
        TaskTable a = table(1);
        TaskTable b = table(2);
        new FaultInjectingTable(a, plan).close(5);
        SysException e = assertThrows(SysException.class, () -> new FaultInjectingTable(b, plan).close(6));
        assertEquals(Errno.EBADF, e.errno());
        verify(b, times(1)).close(6); // close closes, then reports, as Linux does
    }

    @Test
    void aBatchFailsWholeBeforeItRuns() throws Exception {
        TaskTable t = table(1);
        Batch real = mock(Batch.class);
        when(t.batch()).thenReturn(real);
        FaultPlan plan = new FaultPlan(List.of(FaultSpec.parse("lseek:1")));
        Batch b = new FaultInjectingTable(t, plan).batch();
        Batch.Ref r = b.fd(3);
        b.lseek(r, 10, 0);
        assertThrows(SysException.class, b::run);
        verify(real, never()).run();
        assertEquals(Map.of("lseek", 1L), plan.counts());
    }

    @Test
    void countingOnlyNeverFails() throws Exception {
        FaultPlan plan = FaultPlan.counting();
        FaultInjectingTable t = new FaultInjectingTable(table(1), plan);
        for (int i = 0; i < 5; i++) {
            t.open("/x", 0, 0);
        }
        assertEquals(Map.of("open", 5L), plan.counts());
        assertEquals(List.of(), plan.injected());
    }

    @Test
    void adoptAndGeneralCallsAreCountedAndFailedLikeAnyOther() throws Exception {
        FaultPlan plan = new FaultPlan(List.of(FaultSpec.parse("adopt:1"), FaultSpec.parse("inotify_add_watch:2:ENOSPC")));
        TaskTable real = table(1);
        FaultInjectingTable f = new FaultInjectingTable(real, plan);
        SysException a = assertThrows(SysException.class, () -> f.adopt(9));
        assertTrue(a.getMessage().contains("adopt(JVM fd 9)") && a.getMessage().contains("[injected fault adopt:1:EIO]"),
                a.getMessage());
        verify(real, never()).adopt(9);
        f.adopt(9);
        verify(real).adopt(9);
        f.syscall("inotify_add_watch", 3, "/tmp", 2);
        SysException w = assertThrows(SysException.class, () -> f.syscall("inotify_add_watch", 3, "/etc", 2));
        assertEquals(Errno.ENOSPC, w.errno());
        assertTrue(w.getMessage().contains("inotify_add_watch(3, \"/etc\", 2)"), w.getMessage());
        verify(real, never()).syscall("inotify_add_watch", 3, "/etc", 2);
        assertThrows(IllegalArgumentException.class, () -> f.syscall("dup", 3));
        assertEquals(Map.of("adopt", 2L, "inotify_add_watch", 2L), plan.counts());
    }
}
