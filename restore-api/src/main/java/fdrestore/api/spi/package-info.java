/**
 * The public plugin SPI: file kinds, the open contract, dependencies, task fd tables, the transport.
 *
 * <p>Imports the image model and sys. Imported by plugins, the transport, the testkit, every package
 * of core but json, and the app.
 */
package fdrestore.api.spi;
