/** fdrestore plugin for the "netlink-socket" file kind: AF_NETLINK sockets. Depends on the SPI only. */
module fdrestore.plugin.netlink {
    requires fdrestore.core;
    requires org.pf4j;
}
