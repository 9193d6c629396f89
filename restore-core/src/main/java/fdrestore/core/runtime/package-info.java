/**
 * Task runtime: one native-only executor thread per task, owning a private kernel fd table.
 *
 * <p>Imports the SPI and sys. Imported by process, restore and the app; never by plugins (they call their
 * task's {@code TaskTable}).
 */
package fdrestore.core.runtime;
