/** The eventfd file kind: a counter and its flags, restored with eventfd2 and one write. */
package fdrestore.plugin.eventfd;
