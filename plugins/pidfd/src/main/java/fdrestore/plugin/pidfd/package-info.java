/** The pidfd file kind: pidfds of processes that are gone, made on a helper that dies, adopted into the task. */
package fdrestore.plugin.pidfd;
