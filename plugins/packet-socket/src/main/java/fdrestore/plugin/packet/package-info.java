/** Packet (AF_PACKET) sockets: type, protocol, bound interface, SOL_PACKET options, memberships, rings, fanout. */
package fdrestore.plugin.packet;
