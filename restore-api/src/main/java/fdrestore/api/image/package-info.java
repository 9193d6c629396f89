/**
 * The image set: tasks, fd tables and typed file entries read from a CRIU image directory, and their validation.
 *
 * <p>Imports its codecs, the generated messages and (through {@code Describe}, a known cycle) the SPI.
 * Imported by every package that reads images, by plugins and by the app.
 */
package fdrestore.api.image;
