/** The public plugin SPI: file kinds, the open contract, dependencies, task fd tables, the transport. */
package fdrestore.api.spi;
