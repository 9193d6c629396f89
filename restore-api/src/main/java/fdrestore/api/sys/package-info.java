/** The one checked syscall facade: jnr-ffi bindings to libc, errno mapping, kernel constants. */
package fdrestore.api.sys;
