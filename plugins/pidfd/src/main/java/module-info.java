/** The pidfd file kind: written against the SPI only. */
module fdrestore.plugin.pidfd {
    requires fdrestore.core;
    requires org.pf4j;
}
