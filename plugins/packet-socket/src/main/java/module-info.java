/** fdrestore plugin for the "packet-socket" file kind: AF_PACKET sockets. Depends on the SPI only. */
module fdrestore.plugin.packet {
    requires fdrestore.api;
    requires org.pf4j;
}
