/** SCM_RIGHTS transport between the private fd tables of restored tasks. */
module fdrestore.transport {
    requires fdrestore.core;
    exports fdrestore.transport;
}
