package fdrestore.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenResult;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.RestoreException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planner, on sample images and test kinds, with no syscall: what it plans for shared files and
 * shared fd tables, and how it refuses what cannot be restored, naming the task and the fd.
 */
class PlannerTest {
    /** Every task falls back to the root when its recorded cwd is missing: these tests are not about cwds. */
    private static final Restorer.Options OPTIONS = Restorer.Options.defaults("fdrestore-holder")
            .withLaunch(new Restorer.Launch(false, false, true));

    private static ImageSet sample(String name) throws Exception {
        return ImageSet.open(Paths.get(System.getProperty("fdrestore.samples", "../images-samples"))
                .resolve("criu-4.2").resolve(name));
    }

    /** A kind that plans every file of its types (or refuses the ones {@code refuse} picks), doing nothing. */
    private static class TestKind implements FileKind {
        final String name;
        final Set<FdType> types;
        final Predicate<FileInfo> refuse;
        final List<FileInfo> planned = new ArrayList<>();
        List<ProcessAction> actions = List.of();

        TestKind(String name, Set<FdType> types, Predicate<FileInfo> refuse) {
            this.name = name;
            this.types = types;
            this.refuse = refuse;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Set<FdType> fdTypes() {
            return types;
        }

        @Override
        public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
            if (refuse.test(file)) {
                throw new PlanException("refused by the test");
            }
            planned.add(file);
            return c -> OpenResult.fail("never opened");
        }

        @Override
        public List<ProcessAction> processActions(Task task, PlanContext ctx) throws PlanException {
            return actions;
        }

        /** A key of its own, as a kind fdrestore does not ship may give. */
        @Override
        public String inheritKey(fdrestore.api.image.proto.FileEntry entry, ImageSet images) {
            return "test:[" + Integer.toUnsignedString(entry.getId()) + "]";
        }
    }

    private static RestorePlan plan(ImageSet images, Restorer.Options o, FileKind... kinds) throws RestoreException {
        return new Planner(images, Planner.byType(List.of(kinds)), o, InheritFds.none()).plan();
    }

    @Test
    void aPipeSharedByFourTasksIsOneFileWithItsMasterFirst() throws Exception {
        ImageSet images = sample("a_pipe");
        TestKind all = new TestKind("all", EnumSet.allOf(FdType.class), f -> false);
        RestorePlan plan = plan(images, OPTIONS, all);
        assertEquals(images.sharers().size(), plan.files().size(), "one planned file per file of the images");
        RestorePlan.Planned pipe = plan.files().stream().filter(p -> p.info().id() == 5).findFirst().orElseThrow();
        assertEquals(FdType.PIPE, pipe.info().type());
        assertEquals("all", pipe.kindName());
        List<FleInfo> fles = pipe.info().fles();
        assertEquals(4, fles.size(), fles.toString());
        assertEquals(fles.stream().sorted().toList(), fles, "in criu's master order: lowest pid, then lowest fd");
        assertEquals(30508, fles.get(0).pid());
    }

    @Test
    void tasksSharingAnFdTableUseTheTableOfTheFirstOfThem() throws Exception {
        ImageSet images = sample("zdtm/fdt_shared");
        TestKind all = new TestKind("all", EnumSet.allOf(FdType.class), f -> false);
        RestorePlan plan = plan(images, OPTIONS, all);
        // files_id 2: 15997, 15998, 16000, 15999 (CLONE_FILES); 16001 has a table of its own
        for (int pid : List.of(15997, 15998, 16000, 15999)) {
            assertEquals(15997, plan.tableOwner(images.task(pid).orElseThrow()), "task " + pid);
        }
        assertEquals(16001, plan.tableOwner(images.task(16001).orElseThrow()));
        assertEquals(List.of(15998, 16000, 15999), plan.sharersOf(15997));
        assertEquals(List.of(), plan.sharersOf(16001));
        for (RestorePlan.Planned p : plan.files()) {
            for (FleInfo f : p.info().fles()) {
                assertTrue(f.pid() == 15997 || f.pid() == 16001, "a shared table's fds are planned once, in its owner: " + f);
            }
        }
        // a task that shares its table always holds: an exec would unshare it
        Restorer.Options exec = OPTIONS.withLaunch(new Restorer.Launch(true, false, true));
        TaskLaunches launches = new TaskLaunches(images, exec);
        assertNull(launches.command(images.task(15999).orElseThrow()));
    }

    @Test
    void aFileNoPluginRestoresIsRefusedNamingItsTasksAndFds() throws Exception {
        ImageSet images = sample("a_pipe");
        TestKind notPipes = new TestKind("not-pipes", EnumSet.complementOf(EnumSet.of(FdType.PIPE)), f -> false);
        RestoreException e = assertThrows(RestoreException.class, () -> plan(images, OPTIONS, notPipes));
        assertTrue(e.getMessage().startsWith("no plugin restores PIPE (used by task 30508 fd "), e.getMessage());
        assertTrue(e.getMessage().contains("task 30513 fd 100"), e.getMessage());
    }

    @Test
    void everyRefusalIsReportedTogetherNamingTheTaskTheFdAndTheKind() throws Exception {
        ImageSet images = sample("a_pipe");
        TestKind refusing = new TestKind("picky", EnumSet.allOf(FdType.class), f -> f.type() == FdType.PIPE);
        refusing.actions = List.of();
        RestoreException e = assertThrows(RestoreException.class, () -> plan(images, OPTIONS, refusing));
        long pipes = images.sharers().values().stream().filter(r -> r.get(0).fd().type() == FdType.PIPE).count();
        assertTrue(pipes >= 2, "the sample has several pipe ends");
        assertTrue(e.getMessage().startsWith(pipes + " problems stop the restore:"), e.getMessage());
        assertTrue(e.getMessage().contains("task 30508 fd ") && e.getMessage().contains(" (picky file 5): refused by the test"),
                e.getMessage());
    }

    @Test
    void aProcessActionRefusalNamesTheTaskAndTheKind() throws Exception {
        ImageSet images = sample("a_pipe");
        FileKind failing = new TestKind("acts", EnumSet.allOf(FdType.class), f -> false) {
            @Override
            public List<ProcessAction> processActions(Task task, PlanContext ctx) throws PlanException {
                if (task.pid() == 30513) {
                    throw new PlanException("no terminal");
                }
                return List.of();
            }
        };
        RestoreException e = assertThrows(RestoreException.class, () -> plan(images, OPTIONS, failing));
        assertEquals("task 30513 (acts): no terminal", e.getMessage());
    }

    @Test
    void twoKindsClaimingOneTypeAreRefused() {
        TestKind a = new TestKind("a", EnumSet.of(FdType.PIPE), f -> false);
        TestKind b = new TestKind("b", EnumSet.of(FdType.PIPE, FdType.REG), f -> false);
        RestoreException e = assertThrows(RestoreException.class, () -> Planner.byType(List.of(a, b)));
        assertTrue(e.getMessage().startsWith("two plugins claim fd type PIPE: 'a'"), e.getMessage());
    }

    @Test
    void aMissingCwdIsRefusedUnlessTheRestoreMayFallBackToTheRoot(@TempDir Path empty) throws Exception {
        ImageSet images = sample("zdtm/fdt_shared");
        TestKind all = new TestKind("all", EnumSet.allOf(FdType.class), f -> false);
        Restorer.Options exact = Restorer.Options.defaults("fdrestore-holder").withRoot(empty);
        RestoreException e = assertThrows(RestoreException.class, () -> plan(images, exact, all));
        assertTrue(e.getMessage().contains("task 15997: its cwd /tmp/zdtm2/run/fdt_shared is missing under " + empty),
                e.getMessage());
        RestorePlan plan = plan(images, exact.withLaunch(new Restorer.Launch(false, false, true)), all);
        assertEquals("/", plan.cwd(images.task(15997).orElseThrow()), "started in the root instead");
    }

    @Test
    void anInheritedFileIsTakenFromTheCallerNotPlannedByItsKind() throws Exception {
        ImageSet images = sample("a_pipe");
        TestKind all = new TestKind("all", EnumSet.allOf(FdType.class), f -> false);
        RestorePlan.Planned pipe5 = plan(images, OPTIONS, all).files().stream()
                .filter(p -> p.info().id() == 5).findFirst().orElseThrow();
        String key = InheritFds.key(pipe5.info().entry(), images, Planner.byType(List.of(all))).orElseThrow();
        TestKind fresh = new TestKind("all", EnumSet.allOf(FdType.class), f -> false);
        RestorePlan plan = new Planner(images, Planner.byType(List.of(fresh)), OPTIONS,
                InheritFds.parse(List.of("fd[0]:" + key))).plan();
        RestorePlan.Planned inherited = plan.files().stream().filter(p -> p.info().id() == 5).findFirst().orElseThrow();
        assertNull(inherited.kind());
        assertEquals("inherit-fd", inherited.kindName());
        assertNotNull(inherited.restorer());
        assertTrue(fresh.planned.stream().noneMatch(f -> f.id() == 5), "the kind never saw the inherited file");
    }
}
