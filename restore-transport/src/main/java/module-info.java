/** SCM_RIGHTS transport between the private fd tables of restored tasks. */
module fdrestore.transport {
    requires transitive fdrestore.core;
    exports fdrestore.transport;
}
