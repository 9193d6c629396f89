/** fdrestore plugin for the "netlink-socket" file kind: AF_NETLINK sockets. Depends on the SPI only. */
module fdrestore.plugin.netlink {
    requires fdrestore.api;
    requires org.pf4j;
}
