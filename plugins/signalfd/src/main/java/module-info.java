/** The signalfd file kind: written against the SPI only. */
module fdrestore.plugin.signalfd {
    requires fdrestore.api;
    requires org.pf4j;
}
