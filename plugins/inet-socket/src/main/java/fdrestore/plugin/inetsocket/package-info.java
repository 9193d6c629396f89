/**
 * The "inet" plugin: TCP, UDP, ICMP datagram and raw sockets over IPv4 and IPv6 ({@code FdType.INETSK}).
 *
 * <p>Each description is restored on its own by its master: socket, IPV6_V6ONLY, the socket options of
 * the image, bind, listen or connect, file flags. Sockets that share a port (a listener and the
 * connections accepted from it, SO_REUSEPORT groups) bind with SO_REUSEADDR and SO_REUSEPORT forced on;
 * each gets its own values back once every user of the port is bound (CRIU's port-user count, done here
 * with one engine condition per bound socket). Established TCP connections are rebuilt in repair mode
 * (TCP_REPAIR) from {@code tcp-stream-<ino>.img}: sequence numbers, queued data, TCP options and window;
 * repair mode is left only once the peer, when it is in the images too, is connected in repair mode.
 * Half-closed connections (close-wait, fin-wait1/2, closing, last-ack) start one before each FIN; this
 * side's FIN is queued with shutdown in repair mode, the peer's FIN (or its ACK of ours) is sent to the
 * socket from the peer's address through a raw socket ({@link fdrestore.plugin.inetsocket.TcpSegment}).
 * A peer outside the images that is gone resets the connection once the socket answers; the fd is
 * restored all the same. Raw, ICMP and unconnected UDP sockets that share no port are made entirely in
 * the pass's shared batch. Every image field that reaches a syscall is bounded first: family, type and
 * protocol (raw: below IPPROTO_MAX), state, shutdown bits, ICMP filter length, queue lengths.
 */
package fdrestore.plugin.inetsocket;
