/**
 * {@code fdrestore bench}: in-JVM restore timings, whole-command timings (cold and served), the fd transport
 * floor against a C program, and the synthetic image sets they time. Nothing in the restore path imports it;
 * {@code fdrestore.app} lists the command and {@code fdrestore.app.serve} warms up on a synthetic set.
 */
package fdrestore.app.bench;
