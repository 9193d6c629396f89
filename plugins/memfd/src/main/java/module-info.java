/** fdrestore plugin for the "memfd" file kind: memfd files, their contents and seals. Depends on the SPI only. */
module fdrestore.plugin.memfd {
    requires fdrestore.api;
    requires org.pf4j;
}
