/** Test helpers for plugin authors. */
package fdrestore.testkit;
