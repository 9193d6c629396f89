/** The pidfd file kind: written against the SPI only. */
module fdrestore.plugin.pidfd {
    requires fdrestore.api;
    requires org.pf4j;
}
