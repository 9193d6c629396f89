/** The signalfd file kind: its mask and flags, made in the JVM with signalfd4 and adopted into the task. */
package fdrestore.plugin.signalfd;
