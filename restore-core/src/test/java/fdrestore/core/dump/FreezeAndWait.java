package fdrestore.core.dump;

/**
 * Run in a JVM of its own by {@link DumperTest}: holds the tree of the pid in {@code args[0]} still with a
 * {@link Freezer}, says "frozen", and waits to be killed; with {@code --cgroup PID}, freezes the cgroup of
 * that tree ({@link Freezer#freezeCgroup}) and says "frozen cgroup DIR" or why not.
 */
public final class FreezeAndWait {
    private FreezeAndWait() {
    }

    public static void main(String[] args) throws Exception {
        Freezer f = new Freezer(new ProcFs());
        if (args.length == 2 && args[0].equals("--cgroup")) { // the cgroup freezer for the tree of args[1]
            String why = f.freezeCgroup(Integer.parseInt(args[1]));
            System.out.println(why == null ? "frozen cgroup " + f.cgroup() : "not frozen: " + why);
            System.out.flush();
            Thread.sleep(60_000);
            f.close();
            return;
        }
        for (String a : args) {
            f.stop(Integer.parseInt(a));
        }
        System.out.println("frozen " + f.stopped());
        System.out.flush();
        Thread.sleep(60_000);
        f.close();
    }
}
