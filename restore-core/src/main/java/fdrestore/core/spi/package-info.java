/**
 * The public plugin SPI: file kinds, the open contract, dependencies, task fd tables, the transport.
 *
 * <p>Imports the image model, sys and the engine's {@code Stage} (a known cycle that the API module
 * removes). Imported by every package of core but json, by plugins, the transport and the app.
 */
package fdrestore.core.spi;
