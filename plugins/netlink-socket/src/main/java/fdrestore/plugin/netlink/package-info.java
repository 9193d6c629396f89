/** Netlink sockets: protocol, bound port id, multicast groups, peer and socket options. */
package fdrestore.plugin.netlink;
