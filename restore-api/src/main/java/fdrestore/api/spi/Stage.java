package fdrestore.api.spi;

/**
 * The stage of one fd slot (fle) of a task. Stages only move forward.
 * <ul>
 * <li>{@link #INITIALIZED}: planned, nothing opened yet.</li>
 * <li>{@link #OPEN}: the master's fd sits at its target number, its fd flags are applied and it has been
 * served out to the slaves.</li>
 * <li>{@link #RESTORED}: the plugin's open returned Done (master), or the fd was received and planted
 * (slave).</li>
 * </ul>
 */
public enum Stage {
    INITIALIZED, OPEN, RESTORED;

    /** True when this stage is at least {@code other}. */
    public boolean atLeast(Stage other) {
        return compareTo(other) >= 0;
    }
}
