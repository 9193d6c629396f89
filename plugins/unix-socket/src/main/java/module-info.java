/** fdrestore plugin for the "unix" file kind: Unix sockets. */
module fdrestore.plugin.unixsocket {
    requires fdrestore.core;
    requires org.pf4j;
}
