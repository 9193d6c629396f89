/** fdrestore plugin for the "tty" file kind: Pseudo-terminals and the controlling terminal. */
module fdrestore.plugin.tty {
    requires fdrestore.api;
    requires org.pf4j;
}
