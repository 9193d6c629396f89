package fdrestore.core.dump;

/**
 * Run in a JVM of its own by {@link DumperTest}: holds the tree of the pid in {@code args[0]} still with a
 * {@link Freezer}, says "frozen", and waits to be killed.
 */
public final class FreezeAndWait {
    private FreezeAndWait() {
    }

    public static void main(String[] args) throws Exception {
        Freezer f = new Freezer(new ProcFs());
        for (String a : args) {
            f.stop(Integer.parseInt(a));
        }
        System.out.println("frozen " + f.stopped());
        System.out.flush();
        Thread.sleep(60_000);
        f.close();
    }
}
