/** fdrestore plugin for the "inet" file kind: TCP and UDP sockets. */
module fdrestore.plugin.inetsocket {
    requires fdrestore.core;
    requires org.pf4j;
}
