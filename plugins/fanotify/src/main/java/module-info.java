/** The fanotify file kind: written against the SPI only. */
module fdrestore.plugin.fanotify {
    requires fdrestore.api;
    requires org.pf4j;
}
