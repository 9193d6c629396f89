/** The restore engine: file descriptions, fles, masters, the per-task asynchronous open loop. */
package fdrestore.core.engine;
