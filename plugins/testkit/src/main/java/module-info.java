/** The plugin testkit: fake fd tables, a fake transport, image builders, contract tests, a real-kernel harness. */
module fdrestore.testkit {
    requires transitive fdrestore.core;
    requires fdrestore.transport;
    requires transitive org.junit.jupiter.api;
    exports fdrestore.testkit;
}
