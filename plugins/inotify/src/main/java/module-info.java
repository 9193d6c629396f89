/** The inotify file kind: written against the SPI only. */
module fdrestore.plugin.inotify {
    requires fdrestore.core;
    requires org.pf4j;
}
