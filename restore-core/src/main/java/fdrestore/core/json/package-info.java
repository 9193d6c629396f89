/** A small, strict JSON reader and writer (used by {@code fdrestore show --json} and tests). */
package fdrestore.core.json;
