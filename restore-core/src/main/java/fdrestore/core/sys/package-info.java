/**
 * The one checked syscall facade: jnr-ffi bindings to libc, errno mapping, kernel constants.
 *
 * <p>The bottom of core: imports nothing of it. Anything may import it.
 */
package fdrestore.core.sys;
