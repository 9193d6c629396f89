/**
 * The restore engine: file descriptions, fles, masters, the per-task asynchronous open loop.
 *
 * <p>Imports the SPI and sys. Imported by restore, process (its {@code RestoreException}) and the app; the
 * SPI names its {@code Stage} (a known cycle that the API module removes).
 */
package fdrestore.core.engine;
