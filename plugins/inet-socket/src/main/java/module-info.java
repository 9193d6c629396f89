/** fdrestore plugin for the "inet" file kind: TCP and UDP sockets. */
module fdrestore.plugin.inetsocket {
    requires fdrestore.api;
    requires org.pf4j;
}
