/**
 * Dumps a live process tree's fd tables into CRIU's image format: freezes the tree, reads {@code /proc},
 * asks each kind's {@code FileDumper} and writes the image set.
 *
 * <p>Imports the image model and codecs, the SPI, sys and process (to recognise a holder). Only the app
 * (and tests) import it; it never imports restore.
 */
package fdrestore.core.dump;
