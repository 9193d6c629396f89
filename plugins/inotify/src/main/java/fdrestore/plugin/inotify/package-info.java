/** The inotify file kind: an inotify instance and its watches, made in the JVM and adopted into the task. */
package fdrestore.plugin.inotify;
