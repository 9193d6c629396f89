/** fdrestore plugin for the "pipe" file kind: Pipes and FIFOs. */
module fdrestore.plugin.pipe {
    requires fdrestore.api;
    requires org.pf4j;
}
