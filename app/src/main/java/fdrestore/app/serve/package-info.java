/**
 * {@code fdrestore serve}: a warm JVM that runs each client's command line as if the client had run it,
 * with the client's cwd, environment, stdio and signals, and the client side that starts and asks it.
 * Imported by {@code fdrestore.app} (the command list) and {@code fdrestore.app.bench} (served timings).
 */
package fdrestore.app.serve;
