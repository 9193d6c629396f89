package fdrestore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.api.spi.OpenContext;
import fdrestore.api.spi.RestoreException;
import fdrestore.api.spi.Stage;
import fdrestore.api.spi.TaskTable;
import fdrestore.api.spi.Transport;
import fdrestore.api.sys.Errno;
import fdrestore.core.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every file kind keeps, checked on the testkit's fake kernel through the real engine.
 * A plugin's test extends this class, names its {@link #kind()} and a few {@link #scenarios()} (an image
 * set and what to expect), and inherits three families of tests:
 *
 * <ol>
 * <li><b>Open sequences</b> ({@link #opensEveryScenario}): every file plans, the restore completes, every
 * task holds exactly its image fds (each at its number, with its FD_CLOEXEC, one description per file id,
 * no temporary, nothing leaked), every slot is RESTORED, then the scenario's own checks run.</li>
 * <li><b>Dependencies</b> ({@link #declaresConsistentDependencies}): no file depends on itself, every
 * file depended on exists and has an fd, a same-task dependency is held by the chosen master's task, and a
 * chosen master is one of the file's slots.</li>
 * <li><b>Rollback</b> ({@link #rollsBackAFaultInEachSyscall}): each syscall the kind makes in a scenario
 * fails in turn (EIO, one at a time, through {@link FakeTaskTable#failOn}); the restore must fail with a
 * {@link RestoreException} that names the task and the fd of the file and carries the errno, and no table
 * may keep a temporary fd except those the engine still holds for its own rollback (and the fd of a failed
 * {@code close}, which Linux releases anyway).</li>
 * <li><b>The JVM's own table</b>: a kind that makes its fds in the JVM and {@link TaskTable#adopt adopts}
 * them (the shape of a kind core has no call for) closes them on every path; both families above check
 * that the JVM's table gained nothing. {@code adopt} and each general call ({@link TaskTable#syscall}, by
 * the syscall's name) are faults like any other call.</li>
 * </ol>
 *
 * Files of other kinds in a scenario are restored by {@link #otherKinds()} ({@link StubKind} by default).
 * Scenarios must be deterministic: the same images make the kind issue the same calls in the same order.
 *
 * <p>A scenario's images come from an {@link ImageSetBuilder} or from any {@link ImageSource} (a kind's own
 * image writer, a sample directory). A scenario may also prepare the root ({@link Scenario#root}), tell the
 * fake tables what fstat answers ({@link Scenario#stat}) and check the error of each injected fault
 * ({@link Scenario#onFault}). A kind whose tests need more than the plain fake tables (a pretend device, a
 * recording proxy) overrides {@link #environment}.
 */
public abstract class FileKindContractTest {
    /** The longest one restore of a scenario may take. */
    protected static final Duration LIMIT = Duration.ofSeconds(30);
    static final int FAULT = Errno.EIO;

    /** Where the contract writes the scenarios' image sets. */
    @TempDir
    protected Path contractDir;

    /** The kind under test. Called once per restore: return a fresh instance or a stateless one. */
    protected abstract FileKind kind();

    /** The scenarios: image sets that use the kind, each with its own expectations. */
    protected abstract List<Scenario> scenarios() throws Exception;

    /** Restores the files of the scenarios that are not of the kind under test. */
    protected FileKind otherKinds() {
        return StubKind.allExcept(kind().fdTypes());
    }

    /**
     * What a restore runs on: the tables the engine gets and its transport, over one fake kernel. The
     * default hands out the kernel's own {@link FakeTaskTable}s and transport; override
     * {@link #environment} to put a decorator in front of them (each call of task {@code pid}'s table must
     * reach {@code kernel.table(pid)}, where the contract records calls and injects faults).
     */
    public interface Environment {
        /** The table the engine gets for task {@code pid}; create {@code kernel.table(pid, floor)} behind it. */
        TaskTable table(int pid, int floor);

        /** The transport the engine gets. */
        Transport transport();
    }

    private Environment environment(Scenario s, FakeKernel kernel) {
        return s.environment != null ? s.environment.apply(kernel) : environment(kernel);
    }

    /** The environment of one restore on {@code kernel}. Called once per restore. */
    protected Environment environment(FakeKernel kernel) {
        return new Environment() {
            @Override
            public TaskTable table(int pid, int floor) {
                return kernel.table(pid, floor);
            }

            @Override
            public Transport transport() {
                return kernel.transport();
            }
        };
    }

    /** What a scenario checks after a successful restore. */
    @FunctionalInterface
    public interface Check {
        void check(Restore restore) throws Exception;
    }

    /** Writes (or names) a scenario's image set: returns the directory to open, usually {@code dir}. */
    @FunctionalInterface
    public interface ImageSource {
        Path write(Path dir) throws Exception;
    }

    /** Prepares a scenario's root directory (the {@code --root} its files are under) before planning. */
    @FunctionalInterface
    public interface RootSetup {
        void prepare(Path root) throws Exception;
    }

    /** What a scenario checks about the failure of each injected fault, on top of the contract's checks. */
    @FunctionalInterface
    public interface FaultCheck {
        void check(Failure failure) throws Exception;
    }

    /**
     * One failed restore: the fault was injected into {@code call} (as text, "write(100, 8 bytes)"), the
     * {@code index}-th call the kind made for file {@code fileId}; {@code error} is what the engine threw.
     */
    // The engine is exported only to the testkit, app and transport: a test that reads it is one of theirs.
    @SuppressWarnings("exports")
    public record Failure(long fileId, int index, String call, RestoreException error, Path root, FakeKernel kernel,
                          Environment environment, Engine engine) {
        /** Whether the error or one of its causes mentions {@code text}. */
        public boolean mentions(String text) {
            return chainMentions(error, text);
        }
    }

    /** One image set for the contract, with a name and its own checks. */
    public static final class Scenario {
        final String name;
        final ImageSource images;
        final List<Check> checks = new ArrayList<>();
        final Map<String, String> options = new LinkedHashMap<>();
        final List<RootSetup> roots = new ArrayList<>();
        final Map<String, TaskTable.Stat> stats = new LinkedHashMap<>();
        final List<FaultCheck> faultChecks = new ArrayList<>();
        Function<FakeKernel, Environment> environment;

        private Scenario(String name, ImageSource images) {
            this.name = name;
            this.images = images;
        }

        public static Scenario of(String name, ImageSetBuilder images) {
            return new Scenario(name, images::write);
        }

        /** A scenario whose images another writer makes (or an existing directory, returned as it is). */
        public static Scenario of(String name, ImageSource images) {
            return new Scenario(name, images);
        }

        /** Prepares the root before each plan (every restore gets a fresh, empty root). */
        public Scenario root(RootSetup setup) {
            roots.add(setup);
            return this;
        }

        /** What fstat answers, in every task's table, for descriptions opened at {@code path}. */
        public Scenario stat(String path, TaskTable.Stat st) {
            stats.put(path, st);
            return this;
        }

        /**
         * Runs this scenario on its own environment (a pretend device already in some state) instead of the
         * test's {@link FileKindContractTest#environment}; {@code factory} is called once per restore.
         */
        public Scenario environment(Function<FakeKernel, Environment> factory) {
            this.environment = factory;
            return this;
        }

        /** Adds a check run on the error of each injected fault (after the contract's own checks). */
        public Scenario onFault(FaultCheck check) {
            faultChecks.add(check);
            return this;
        }

        /** Adds a check run after the restore succeeded. */
        public Scenario expect(Check check) {
            checks.add(check);
            return this;
        }

        /** A restore-wide option the plugins see ({@code OpenContext.option}). */
        public Scenario option(String key, String value) {
            options.put(key, value);
            return this;
        }

        public String name() {
            return name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A finished restore of a scenario on the fake kernel. */
    public static final class Restore {
        private final FakeKernel kernel;
        private final ImageSet images;
        private final Engine engine;
        private final Map<Long, ContractProbe> probes;
        private final Environment environment;
        private final Path root;

        Restore(FakeKernel kernel, ImageSet images, Engine engine, Map<Long, ContractProbe> probes, Environment environment,
                Path root) {
            this.kernel = kernel;
            this.images = images;
            this.engine = engine;
            this.probes = probes;
            this.environment = environment;
            this.root = root;
        }

        /** The environment the restore ran on (the test's or the scenario's). */
        public Environment environment() {
            return environment;
        }

        /** The root the scenario's files were restored under. */
        public Path root() {
            return root;
        }

        public FakeKernel kernel() {
            return kernel;
        }

        public ImageSet images() {
            return images;
        }

        // The engine is exported only to the testkit, app and transport: a test that reads it is one of theirs.
        @SuppressWarnings("exports")
        public Engine engine() {
            return engine;
        }

        /** Task {@code pid}'s fake table. */
        public FakeTaskTable table(int pid) {
            return kernel.table(pid);
        }

        /** The description at {@code fd} of task {@code pid}. */
        public FakeKernel.FakeFile file(int pid, int fd) {
            return kernel.table(pid).file(fd);
        }

        /** The master slot the engine used for file {@code fileId}. */
        public FleInfo master(long fileId) {
            return engine.masterOf(fileId);
        }

        /** The calls the kind under test made for file {@code fileId}, as text, in order. */
        public List<String> callsOf(long fileId) {
            ContractProbe p = probes.get(fileId);
            if (p == null) {
                throw new IllegalArgumentException("file " + fileId + " is not of the kind under test");
            }
            return List.copyOf(p.texts);
        }
    }

    // ---- the tests --------------------------------------------------------------------------------

    /** Every scenario restores completely, with every fd at its number and nothing left over. */
    @TestFactory
    public Stream<DynamicTest> opensEveryScenario() throws Exception {
        return scenarios().stream().map(s -> DynamicTest.dynamicTest("restores " + s.name, () -> {
            ContractPlan plan = ContractPlan.of(s, contractDir, kind(), otherKinds());
            java.util.Map<Integer, String> jvmBefore = fdrestore.api.sys.Sys.fdTargets();
            Restore r = run(plan, null);
            plan.checkComplete(r);
            assertEquals(Map.of(), fdrestore.api.sys.FdLeaks.gainedSince(jvmBefore),
                    "fds the kind made in the JVM's own table (to adopt them) are closed");
            for (Check c : s.checks) {
                c.check(r);
            }
        }));
    }

    /** The dependencies the kind declares are consistent with the images and the chosen master. */
    @TestFactory
    public Stream<DynamicTest> declaresConsistentDependencies() throws Exception {
        return scenarios().stream().map(s -> DynamicTest.dynamicTest("dependencies of " + s.name, () -> {
            ContractPlan plan = ContractPlan.of(s, contractDir, kind(), otherKinds());
            for (ContractPlan.Planned p : plan.files()) {
                if (!p.underTest()) {
                    continue;
                }
                FileInfo info = p.info();
                FleInfo chosen = p.restorer().chooseMaster(info.fles());
                if (chosen != null) {
                    assertTrue(info.fles().contains(chosen), info + ": chosen master " + chosen + " is not one of "
                            + info.fles());
                }
                FleInfo master = chosen != null ? chosen : Collections.min(info.fles());
                List<Dependency> deps = p.restorer().dependencies();
                assertNotNull(deps, info + ": dependencies() returned null");
                for (Dependency d : deps) {
                    assertNotEquals(info.id(), d.fileId(), info + " depends on itself: " + d);
                    assertFalse(plan.images().sharers(d.fileId()).isEmpty(),
                            info + " depends on file " + d.fileId() + ", which no fd refers to: " + d);
                    assertFalse(d.why().isBlank(), info + ": a dependency must say why: " + d);
                    assertNotEquals(Stage.INITIALIZED, d.stage());
                    if (d.sameTask()) {
                        assertTrue(plan.images().task(master.pid()).orElseThrow().fds().stream()
                                        .anyMatch(f -> f.fileId() == d.fileId()),
                                info + ": needs file " + d.fileId() + " in the master's task " + master.pid()
                                        + ", which has no fd for it: " + d);
                    }
                }
            }
        }));
    }

    /** A failure of any one syscall of the kind rolls the restore back cleanly and names the file's slot. */
    @TestFactory
    public Stream<DynamicNode> rollsBackAFaultInEachSyscall() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        for (Scenario s : scenarios()) {
            ContractPlan first = ContractPlan.of(s, contractDir, kind(), otherKinds());
            Restore clean = run(first, null);
            List<DynamicTest> tests = new ArrayList<>();
            clean.probes.forEach((fileId, probe) -> {
                for (int k = 0; k < probe.names.size(); k++) {
                    ContractProbe.Fault fault = new ContractProbe.Fault(fileId, k, probe.names.get(k), List.copyOf(probe.names));
                    String text = probe.texts.get(k);
                    tests.add(DynamicTest.dynamicTest("EIO in " + text + " (file " + fileId + ")",
                            () -> checkRollback(s, fault, text)));
                }
            });
            out.add(DynamicContainer.dynamicContainer("faults in " + s.name, tests));
        }
        return out.stream();
    }

    private void checkRollback(Scenario s, ContractProbe.Fault fault, String text) throws Exception {
        ContractPlan plan = ContractPlan.of(s, contractDir, kind(), otherKinds());
        java.util.Map<Integer, String> jvmBefore = fdrestore.api.sys.Sys.fdTargets();
        FakeKernel kernel = new FakeKernel();
        Environment env = environment(s, kernel);
        Engine engine = build(plan, kernel, env, fault, new HashMap<>());
        RestoreException ex = assertThrows(RestoreException.class,
                () -> assertTimeoutPreemptively(LIMIT, engine::run),
                "EIO in " + text + " must fail the restore");
        FleInfo master = engine.masterOf(fault.fileId());
        assertEquals(master.pid(), ex.pid(), "the error names the task: " + ex.getMessage());
        assertEquals(master.fd(), ex.fd(), "the error names the fd: " + ex.getMessage());
        assertTrue(ex.getMessage().contains("task " + master.pid() + " fd " + master.fd()), ex.getMessage());
        assertTrue(chainMentions(ex, Errno.name(FAULT)), "the error carries the errno: " + ex.getMessage());
        Map<Integer, List<Integer>> owned = engine.ownedTemporaries();
        for (ImageSet.Task t : plan.images().tasks()) {
            List<Integer> left = new ArrayList<>(kernel.table(t.pid()).temporaries());
            left.removeAll(owned.getOrDefault(t.pid(), List.of()));
            if (fault.name().equals("close") && t.pid() == master.pid()) {
                // Linux releases the fd even when close(2) reports an error; the fake keeps it open.
                left.remove(Integer.valueOf(text.substring("close(".length(), text.indexOf(')'))));
            }
            assertEquals(List.of(), left, "temporaries left in task " + t.pid() + " after EIO in " + text
                    + ": " + kernel.table(t.pid()).calls());
        }
        // As the Restorer does after a failed run: every planned restorer undoes what it made outside the
        // tables (a memfd inode the kind keeps in the JVM's table for files that never opened, say).
        for (ContractPlan.Planned p : plan.files()) {
            p.restorer().abort();
        }
        assertEquals(Map.of(), fdrestore.api.sys.FdLeaks.gainedSince(jvmBefore),
                "fds the kind made in the JVM's own table are closed after EIO in " + text + " and abort()");
        Failure failure = new Failure(fault.fileId(), fault.index(), text, ex, plan.root(), kernel, env, engine);
        for (FaultCheck c : s.faultChecks) {
            c.check(failure);
        }
    }

    private static boolean chainMentions(Throwable t, String what) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (String.valueOf(c.getMessage()).contains(what)) {
                return true;
            }
        }
        return false;
    }

    // ---- planning and running ---------------------------------------------------------------------

    private Engine build(ContractPlan plan, FakeKernel kernel, Environment env, ContractProbe.Fault fault,
                         Map<Long, ContractProbe> probes)
            throws RestoreException {
        Engine.Builder b = Engine.builder(env.transport()).root(plan.root());
        plan.scenario().options.forEach(b::option);
        for (ImageSet.Task t : plan.images().tasks()) {
            b.table(env.table(t.pid(), plan.floor()));
            FakeTaskTable fake = kernel.table(t.pid());
            plan.scenario().stats.forEach(fake::stat);
        }
        for (ContractPlan.Planned p : plan.files()) {
            FileRestorer r = p.restorer();
            if (p.underTest()) {
                ContractProbe probe = new ContractProbe(p.info().id(), r,
                        fault != null && fault.fileId() == p.info().id() ? fault : null,
                        kernel);
                probes.put(p.info().id(), probe);
                r = probe;
            }
            b.file(p.info(), p.kind().name(), r);
        }
        return b.build();
    }

    private Restore run(ContractPlan plan, ContractProbe.Fault fault) throws Exception {
        FakeKernel kernel = new FakeKernel();
        Map<Long, ContractProbe> probes = new LinkedHashMap<>();
        Environment env = environment(plan.scenario(), kernel);
        Engine engine = build(plan, kernel, env, fault, probes);
        assertTimeoutPreemptively(LIMIT, engine::run, plan.scenario().name + ": the restore must complete");
        return new Restore(kernel, plan.images(), engine, probes, env, plan.root());
    }
}
