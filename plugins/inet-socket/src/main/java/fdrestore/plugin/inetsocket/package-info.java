/**
 * The "inet" plugin: TCP and UDP sockets over IPv4 and IPv6 ({@code FdType.INETSK}).
 *
 * <p>Each description is restored on its own by its master: socket, IPV6_V6ONLY, the socket options of
 * the image, bind, listen or connect, file flags. Sockets that share a port (a listener and the
 * connections accepted from it, SO_REUSEPORT groups) bind with SO_REUSEADDR and SO_REUSEPORT forced on;
 * each gets its own values back once every user of the port is bound (CRIU's port-user count, done here
 * with one engine condition per bound socket). Established TCP connections are rebuilt in repair mode
 * (TCP_REPAIR) from {@code tcp-stream-<ino>.img}: sequence numbers, queued data, TCP options and window;
 * repair mode is left only once the peer, when it is in the images too, is connected in repair mode.
 */
package fdrestore.plugin.inetsocket;
