package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Batch;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.sys.Linux;
import fdrestore.core.runtime.ExecutorTaskTable;
import fdrestore.core.runtime.TaskRuntime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fake table refuses exactly the opens the real one refuses ({@link Linux#OPEN_REFUSED}): every flag
 * bit on its own and the usual combinations, through open, openat, openat2 and a batch's opens.
 */
class OpenRefusalTest {
    private interface Open {
        void run(TaskTable t, int flags) throws Exception;
    }

    private static final List<Open> OPENS = List.of(
            (t, f) -> t.open("/dev/null", f, 0),
            (t, f) -> t.openAt(Linux.AT_FDCWD, "/dev/null", f, 0),
            (t, f) -> t.openAt2(Linux.AT_FDCWD, "/dev/null", f, 0, 0),
            (t, f) -> t.batch().open("/dev/null", f, 0),
            (t, f) -> t.batch().openAt2(Linux.AT_FDCWD, "/dev/null", f, 0, 0),
            (t, f) -> {
                Batch b = t.batch();
                b.openAt2(b.fd(Linux.AT_FDCWD), "/dev/null", f, 0, 0);
            });

    private static boolean refused(TaskTable t, Open open, int flags) {
        try {
            open.run(t, flags);
            return false;
        } catch (IllegalArgumentException refused) {
            assertTrue(refused.getMessage().contains("O_CREAT, O_TRUNC and O_TMPFILE are refused"), refused.getMessage());
            return true;
        } catch (Exception otherwise) {
            return false;   // the kernel's answer: not a refusal
        }
    }

    @Test
    void fakeAndRealRefuseTheSameFlags() {
        List<Integer> cases = new ArrayList<>();
        for (int bit = 0; bit < 31; bit++) {
            cases.add(1 << bit);
        }
        cases.addAll(List.of(0, Linux.O_RDWR, Linux.O_TMPFILE | Linux.O_RDWR, Linux.O_CREAT | Linux.O_EXCL,
                Linux.O_WRONLY | Linux.O_TRUNC, Linux.O_DIRECTORY, Linux.O_RDONLY | Linux.O_NONBLOCK));
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            FakeTaskTable fake = new FakeKernel().table(1, 100);
            int refusals = 0;
            try (ExecutorTaskTable real = TaskRuntime.startTable(1, 100)) {
                for (int flags : cases) {
                    for (int i = 0; i < OPENS.size(); i++) {
                        boolean r = refused(real, OPENS.get(i), flags);
                        assertEquals(r, refused(fake, OPENS.get(i), flags),
                                "open #" + i + " with flags 0" + Integer.toOctalString(flags) + ": the real table "
                                        + (r ? "refuses" : "accepts") + " it");
                        assertEquals((flags & Linux.OPEN_REFUSED) != 0, r, "flags 0" + Integer.toOctalString(flags));
                        refusals += r ? 1 : 0;
                    }
                }
            }
            assertEquals(OPENS.size() * 6, refusals, "O_CREAT, O_TRUNC and O_TMPFILE's bit, alone and combined");
        });
    }
}
