/**
 * One restore, end to end: the {@link fdrestore.core.restore.Planner} (every file with its plugin, before
 * any syscall) returns a {@link fdrestore.core.restore.RestorePlan}; the
 * {@link fdrestore.core.restore.Restorer} starts the task tables, runs the engine on the plan and has the
 * process package build the tree, retrying with a new transport when a name is taken. Also the host's
 * capacity check, {@code --inherit-fd}, the tree's cgroup and the verification of a restored tree.
 *
 * <p>The top of core: imports every other package of it but dump. Only the app (and tests) import it.
 */
package fdrestore.core.restore;
