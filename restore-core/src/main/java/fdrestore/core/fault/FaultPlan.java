package fdrestore.core.fault;

import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Which calls of one restore fail, and how many calls of each syscall it made. Thread-safe: the engine's
 * threads call the tables of several tasks at once. Counting is per syscall name, over every task and per
 * task (image pid); a {@link FaultSpec} fires on the call whose count equals its {@code n}, once.
 *
 * <p>With no specs ({@link #counting()}) nothing fails and the plan only counts: the hardening sweep
 * restores each image set once like that, then once per (syscall, N).
 */
public final class FaultPlan {
    private final List<FaultSpec> specs;
    private final Map<String, Long> total = new TreeMap<>();
    private final Map<Integer, Map<String, Long>> perTask = new TreeMap<>();
    private final Map<String, String> displayNames = new HashMap<>();
    private final List<String> injected = new ArrayList<>();

    public FaultPlan(List<FaultSpec> specs) {
        this.specs = List.copyOf(specs);
    }

    /** A plan that injects nothing and only counts. */
    public static FaultPlan counting() {
        return new FaultPlan(List.of());
    }

    /** The specs of this plan. */
    public List<FaultSpec> specs() {
        return specs;
    }

    /**
     * Counts one call of {@code syscall} in the table of task {@code pid}; throws the injected failure when
     * a spec names this call. {@code describe} gives the call with its arguments, for the message.
     */
    public void call(int pid, String syscall, Supplier<String> describe) throws SysException {
        FaultSpec hit = count(pid, syscall);
        if (hit != null) {
            String what = describe.get();
            synchronized (this) {
                injected.add("task " + pid + ": " + what + " failed with " + hit);
            }
            throw new SysException(what + " [injected fault " + hit + "]", hit.errno());
        }
    }

    /**
     * A process of the tree was just created for task {@code imagePid} (real pid {@code realPid}): counts
     * a {@value FaultSpec#SPAWN} call and, when a spec names it, kills the process at once (SIGKILL), as
     * if it had died right after it was spawned. Returns true when it was killed.
     */
    public boolean spawned(int imagePid, int realPid) {
        FaultSpec hit = count(imagePid, FaultSpec.SPAWN);
        if (hit == null) {
            return false;
        }
        synchronized (this) {
            injected.add("task " + imagePid + ": its process (pid " + realPid + ") was killed right after it was "
                    + "created [injected fault " + hit + "]");
        }
        try {
            Sys.kill(realPid, 9);
        } catch (SysException gone) {
            // it died on its own: the same for the restore
        }
        // SIGKILL is delivered asynchronously: wait until it has ended, so the restore meets a dead task.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (fdrestore.core.process.Processes.running(realPid) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        return true;
    }

    private synchronized FaultSpec count(int pid, String syscall) {
        String key = syscall.toLowerCase(Locale.ROOT);
        displayNames.putIfAbsent(key, syscall);
        long all = total.merge(syscall, 1L, Long::sum);
        long mine = perTask.computeIfAbsent(pid, k -> new TreeMap<>()).merge(syscall, 1L, Long::sum);
        for (FaultSpec s : specs) {
            if (s.syscall().equals(key) && (s.pid() == FaultSpec.ANY_TASK ? all == s.n() : s.pid() == pid && mine == s.n())) {
                return s;
            }
        }
        return null;
    }

    /** Calls made so far per syscall name (the TaskTable method names), over every task. */
    public synchronized Map<String, Long> counts() {
        return Collections.unmodifiableMap(new TreeMap<>(total));
    }

    /** Calls made so far per task (image pid) and syscall name. */
    public synchronized Map<Integer, Map<String, Long>> countsByTask() {
        Map<Integer, Map<String, Long>> m = new TreeMap<>();
        perTask.forEach((k, v) -> m.put(k, Collections.unmodifiableMap(new TreeMap<>(v))));
        return Collections.unmodifiableMap(m);
    }

    /** One line per fault that fired, in order. */
    public synchronized List<String> injected() {
        return List.copyOf(injected);
    }

    @Override
    public synchronized String toString() {
        return "FaultPlan" + specs + " counts " + total + " injected " + injected.size();
    }
}
