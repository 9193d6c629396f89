/** Task runtime: one native-only executor thread per task, owning a private kernel fd table. */
package fdrestore.core.runtime;
