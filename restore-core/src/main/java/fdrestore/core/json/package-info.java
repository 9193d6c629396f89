/**
 * A small, strict JSON reader and writer (used by {@code fdrestore show --json} and tests).
 *
 * <p>Imports nothing of core. Imported by the app.
 */
package fdrestore.core.json;
