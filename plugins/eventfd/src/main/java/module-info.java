/** fdrestore plugin for the "eventfd" file kind: eventfd counters. Depends on the SPI only. */
module fdrestore.plugin.eventfd {
    requires fdrestore.api;
    requires org.pf4j;
}
