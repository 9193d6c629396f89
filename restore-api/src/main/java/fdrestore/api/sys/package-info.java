/**
 * The one checked syscall facade: jnr-ffi bindings to libc, errno mapping, kernel constants.
 *
 * <p>The bottom of the API: imports nothing of fdrestore. Anything may import it.
 */
package fdrestore.api.sys;
