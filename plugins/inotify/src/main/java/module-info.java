/** The inotify file kind: written against the SPI only. */
module fdrestore.plugin.inotify {
    requires fdrestore.api;
    requires org.pf4j;
}
