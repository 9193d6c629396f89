package fdrestore.core.dump;

/**
 * Run in a JVM of its own by {@link DumperTest}: holds the tree of the pid in {@code args[0]} still with a
 * {@link Freezer}, says "frozen", and waits to be killed; with {@code --cgroup PID [RUNDIR]}, freezes
 * the cgroup of that tree ({@link Freezer#freezeCgroup}, journaled in RUNDIR) and says "frozen cgroup DIR" or
 * why not (without RUNDIR, why not: the cgroup freezer needs one).
 */
public final class FreezeAndWait {
    private FreezeAndWait() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("--cgroup")) { // the cgroup freezer for the tree of args[1]
            Freezer f = new Freezer(new ProcFs(), args.length > 2 ? java.nio.file.Path.of(args[2]) : null);
            String why = f.freezeCgroup(Integer.parseInt(args[1]));
            System.out.println(why == null ? "frozen cgroup " + f.cgroup() : "not frozen: " + why);
            System.out.flush();
            Thread.sleep(60_000);
            f.close();
            return;
        }
        Freezer f = new Freezer(new ProcFs(), null);
        for (String a : args) {
            f.stop(Integer.parseInt(a));
        }
        System.out.println("frozen " + f.stopped());
        System.out.flush();
        Thread.sleep(60_000);
        f.close();
    }
}
