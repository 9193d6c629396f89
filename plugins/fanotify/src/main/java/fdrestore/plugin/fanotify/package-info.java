/** The fanotify file kind: a group and its inode and mount marks, made in the JVM and adopted into the task. */
package fdrestore.plugin.fanotify;
