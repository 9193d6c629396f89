/** fdrestore plugin for the "unix" file kind: Unix sockets. */
module fdrestore.plugin.unixsocket {
    requires fdrestore.api;
    requires org.pf4j;
}
