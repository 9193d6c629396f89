/** The image set: tasks, fd tables and typed file entries read from a CRIU image directory, and their validation. */
package fdrestore.api.image;
