/**
 * The "unix" plugin: unix sockets ({@code FdType.UNIXSK}) of every type, with their names, connections,
 * queued packets, options and shutdown state.
 *
 * <p>{@link fdrestore.plugin.unixsocket.UnixImages} reads the image set once and decides, before any
 * syscall, who makes each socket: its own master (socket, bind, listen, connect), the creator of a pair
 * (socketpair, or connect + accept so that an accepted connection keeps the listener's name), or the
 * restored listener (its accepted connections). It also decides who re-sends each queued packet (the
 * "queuer": the socket connected to the receiver, or a temporary sender to the receiver's name).
 * {@link fdrestore.plugin.unixsocket.UnixRestorer} runs that plan step by step on the engine.
 */
package fdrestore.plugin.unixsocket;
